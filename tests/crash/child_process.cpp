// Child processes for the crash tests (child_process.hpp).
#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace parley::crash {

std::string ChildExit::describe() const {
  std::string what = timedOut ? "timed out"
                     : killed ? "killed"
                              : "exit " + std::to_string(exitCode);
  return errors.empty() ? what : what + "; stderr: " + errors;
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           const std::vector<std::string>& env,
                           const std::filesystem::path& stderrFile)
    : stderrFile_(stderrFile) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  std::vector<std::string> envStrings;
  for (char** e = environ; *e != nullptr; ++e) envStrings.emplace_back(*e);
  envStrings.insert(envStrings.end(), env.begin(), env.end());
  std::vector<char*> argv{const_cast<char*>(program.c_str())}, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    int err = ::open(stderrFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fds[1], STDOUT_FILENO);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_ = fds[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) ::close(out_);
}

bool ChildProcess::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd p{out_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0) return false;
  char chunk[4096];
  ssize_t n = ::read(out_, chunk, sizeof chunk);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
    lines_.push_back(buffer_.substr(0, nl));
    buffer_.erase(0, nl + 1);
  }
  return true;
}

std::optional<std::string> ChildProcess::readLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t seen = lines_.size();
  while (lines_.size() == seen && fill(deadline)) {
  }
  if (lines_.size() == seen) return std::nullopt;
  return lines_[seen];
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !status_)
    ::kill(pid_, sig);  // a zombie (ended, not reaped) ignores it harmlessly
}

bool ChildProcess::running() {
  int status = 0;
  if (!status_ && ::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return !status_;
}

bool ChildProcess::runningAfter(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return running();
}

ChildExit ChildProcess::wait(std::chrono::milliseconds timeout) {
  ChildExit exit;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    if (!fill(deadline) && !eof_ && std::chrono::steady_clock::now() >= deadline) {
      exit.timedOut = true;
      signal(SIGKILL);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
  }
  int status = status_.value_or(0);
  if (!status_) ::waitpid(pid_, &status, 0);
  pid_ = -1;
  exit.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !exit.timedOut;
  exit.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  exit.lines = lines_;
  std::ifstream err(stderrFile_);
  std::stringstream text;
  text << err.rdbuf();
  exit.errors = text.str();
  while (!exit.errors.empty() && exit.errors.back() == '\n') exit.errors.pop_back();
  return exit;
}

}  // namespace parley::crash
