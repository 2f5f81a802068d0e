#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid.hpp>

#include "parley/site.hpp"

namespace parley {

struct RandomIdSource::Impl {
  boost::uuids::random_generator generator;
};

RandomIdSource::RandomIdSource() : impl_(std::make_unique<Impl>()) {}
RandomIdSource::~RandomIdSource() = default;

SiteId RandomIdSource::newId() {
  boost::uuids::uuid u = impl_->generator();
  return SiteId::fromBytes(u.data, u.size());
}

}  // namespace parley
