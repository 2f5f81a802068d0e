// Running the built `parley` binary (PARLEY_BINARY) from CLI tests: fork+exec in a directory,
// stdout and stderr captured into files, and small helpers to read what it wrote.
//
// The child's environment is this process's without PARLEY_SECRET, plus the given variables,
// so a test states whether the cluster secret is present.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include "files.hpp"

extern char** environ;

namespace parley::test::cli {

namespace fs = std::filesystem;
using Json = boost::property_tree::ptree;
using Vars = std::map<std::string, std::string>;

using test::readFile;
using test::writeFile;

// Parses JSON output; fails the test with the text if it is not JSON.
inline Json parseJson(const std::string& text) {
  std::istringstream in(text);
  Json tree;
  try {
    boost::property_tree::read_json(in, tree);
  } catch (const boost::property_tree::json_parser_error& e) {
    FAIL("not JSON (" << e.what() << "): " << text);
  }
  return tree;
}

// A finished run: its exit code (128 + signal if killed) and what it printed.
struct Run {
  int code = -1;
  std::string out, err;
};

inline std::ostream& operator<<(std::ostream& os, const Run& r) {
  return os << "exit " << r.code << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

inline int exitCode(int waitStatus) {
  return WIFEXITED(waitStatus) ? WEXITSTATUS(waitStatus) : 128 + WTERMSIG(waitStatus);
}

// Seconds since `start` on the steady clock.
inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The exit code (128 + signal if killed), or nullopt if still running after `seconds`.
inline std::optional<int> waitExit(pid_t pid, double seconds) {
  auto start = std::chrono::steady_clock::now();
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return exitCode(status);
    if (r != 0) FAIL("waitpid(" << pid << ") failed");
    if (secondsSince(start) >= seconds) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Starts PARLEY_BINARY with `args` in `cwd`, stdout and stderr to the given files, stdin from
// /dev/null, with the environment described above.
inline pid_t spawn(const fs::path& cwd, const std::vector<std::string>& args, const Vars& vars,
                   const fs::path& outFile, const fs::path& errFile) {
  std::vector<std::string> argvText{PARLEY_BINARY};
  argvText.insert(argvText.end(), args.begin(), args.end());
  std::vector<std::string> envText;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (name != "PARLEY_SECRET" && !vars.count(name)) envText.push_back(entry);
  }
  for (const auto& [name, value] : vars) envText.push_back(name + "=" + value);
  std::vector<char*> argv, envp;
  for (auto& s : argvText) argv.push_back(s.data());
  for (auto& s : envText) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  std::string cwdText = cwd.string(), outText = outFile.string(), errText = errFile.string();

  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(outText.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(errText.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0)
      ::_exit(126);
    if (::chdir(cwdText.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace parley::test::cli
