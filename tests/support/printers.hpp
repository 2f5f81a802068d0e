// Catch2 StringMaker specializations so failed assertions on parley's value types print
// something a human can read (values as SQL literals, ids as short hex, vectors as "{a:1}").
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "parley/crdt/dot.hpp"
#include "parley/crdt/site_id.hpp"
#include "parley/crdt/version_vector.hpp"
#include "parley/hlc.hpp"
#include "parley/site.hpp"
#include "parley/status.hpp"
#include "parley/transaction.hpp"
#include "parley/value.hpp"

namespace Catch {

template <>
struct StringMaker<parley::Value> {
  static std::string convert(const parley::Value& v) { return v.toSqlLiteral(); }
};

template <>
struct StringMaker<parley::SiteId> {
  static std::string convert(const parley::SiteId& id) { return id.hex(); }
};

template <>
struct StringMaker<parley::Dot> {
  static std::string convert(const parley::Dot& d) { return d.toString(); }
};

template <>
struct StringMaker<parley::VersionVector> {
  static std::string convert(const parley::VersionVector& v) { return v.toString(); }
};

template <>
struct StringMaker<parley::Hlc> {
  static std::string convert(const parley::Hlc& h) { return h.toString(); }
};

template <>
struct StringMaker<parley::Stamp> {
  static std::string convert(const parley::Stamp& s) {
    return s.hlc.toString() + "@" + s.site.shortHex();
  }
};

template <>
struct StringMaker<parley::Status> {
  static std::string convert(const parley::Status& s) { return s.toString(); }
};

template <>
struct StringMaker<parley::Status::Code> {
  static std::string convert(parley::Status::Code c) {
    switch (c) {
      case parley::Status::Code::kOk: return "kOk";
      case parley::Status::Code::kInvalidArgument: return "kInvalidArgument";
      case parley::Status::Code::kNotFound: return "kNotFound";
      case parley::Status::Code::kCorruption: return "kCorruption";
      case parley::Status::Code::kIOError: return "kIOError";
      case parley::Status::Code::kUnsupported: return "kUnsupported";
      case parley::Status::Code::kNotReady: return "kNotReady";
      case parley::Status::Code::kBusy: return "kBusy";
      case parley::Status::Code::kConstraint: return "kConstraint";
      case parley::Status::Code::kDiverged: return "kDiverged";
      case parley::Status::Code::kInternal: return "kInternal";
    }
    return "Code(?)";
  }
};

template <>
struct StringMaker<parley::CausalOrder> {
  static std::string convert(parley::CausalOrder o) {
    switch (o) {
      case parley::CausalOrder::Equal: return "Equal";
      case parley::CausalOrder::Before: return "Before";
      case parley::CausalOrder::After: return "After";
      case parley::CausalOrder::Concurrent: return "Concurrent";
    }
    return "CausalOrder(?)";
  }
};

template <>
struct StringMaker<parley::RowOp> {
  static std::string convert(parley::RowOp op) {
    switch (op) {
      case parley::RowOp::kInsert: return "kInsert";
      case parley::RowOp::kUpdate: return "kUpdate";
      case parley::RowOp::kDelete: return "kDelete";
    }
    return "RowOp(?)";
  }
};

template <>
struct StringMaker<parley::ConflictKind> {
  static std::string convert(parley::ConflictKind k) {
    switch (k) {
      case parley::ConflictKind::kCell: return "kCell";
      case parley::ConflictKind::kInsertInsert: return "kInsertInsert";
      case parley::ConflictKind::kUpdateDelete: return "kUpdateDelete";
      case parley::ConflictKind::kDeleteUpdate: return "kDeleteUpdate";
      case parley::ConflictKind::kRejected: return "kRejected";
      case parley::ConflictKind::kSchema: return "kSchema";
    }
    return "ConflictKind(?)";
  }
};

}  // namespace Catch
