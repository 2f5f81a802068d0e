// A child process for the crash tests: started with fork/exec, its stdout read line by line
// through a pipe, its stderr kept in a file, killed when the test says.
//
// Lines a child wrote before it was killed are still read: they sit in the pipe.
// Not thread-safe; one driver thread owns each ChildProcess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley::crash {

struct ChildExit {
  std::vector<std::string> lines;  // everything it wrote on stdout
  bool killed = false;             // died of SIGKILL
  bool timedOut = false;           // did not end in time: the driver killed it
  int exitCode = -1;               // when it exited normally
  std::string errors;              // its stderr
  std::string describe() const;    // "exit 0", "killed", "timed out; stderr: ..."
};

class ChildProcess {
 public:
  // Runs `program args...` with `env` added to the environment ("NAME=value").
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::vector<std::string>& env, const std::filesystem::path& stderrFile);
  ~ChildProcess();  // kills and reaps it if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next stdout line, or nullopt at EOF or after `timeout`.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  void signal(int sig);
  // Whether it has not ended yet (reaping it if it has).
  bool running();
  // Whether it is still running after waiting up to `timeout` for it to end.
  bool runningAfter(std::chrono::milliseconds timeout);
  // Reads stdout to EOF and reaps the child; kills it first if it has not ended by `timeout`.
  ChildExit wait(std::chrono::milliseconds timeout);

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // false at EOF or deadline
  pid_t pid_ = -1;
  std::optional<int> status_;  // once reaped
  int out_ = -1;
  std::filesystem::path stderrFile_;
  std::string buffer_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

}  // namespace parley::crash
