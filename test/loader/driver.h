// driver.h -- the part of the run that the loader (objfold object mapped by
// hand) and the oracle (the same C functions linked normally) share: the host
// callback, the backtraces, the ENTRY list and the output format of
// test/fixtures/shared/README.md ("What running them must give").
//
// Output, per ENTRY `name a b`, two runs:
//
//   ## name a b                  (note the trailing space: the mode is empty)
//   result V | caught V
//   calls N
//   bt I: FRAME FRAME ... (rc=R)   one line per host call, innermost frame first
//   ## name a b throw 1
//   ...
//
// The host returns 7*x + 13*y + c, c counting host calls from 1. In the
// "throw K" run, host call K throws that same value as a C++ exception instead
// of returning it, and the driver catches it around the call into the module
// ("caught V"). A frame is named by the module function whose range holds its
// IP, and "[host]" otherwise; consecutive "[host]" frames print once. R is
// what _Unwind_Backtrace returned (5 = _URC_END_OF_STACK: the walk reached the
// outermost frame; anything else means the unwinder gave up).
#pragma once

#include <unwind.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace driver {

using HostFn = long (*)(long, long);
using EntryFn = long (*)(long, long, HostFn);

struct Entry {
  std::string name;
  long a = 0, b = 0;
};

// What the loader and the oracle each supply.
struct Module {
  virtual ~Module() = default;
  // The module function whose [start, start + size) holds ip, or "" when ip
  // is not inside the module's functions.
  virtual std::string name_at(uintptr_t ip) const = 0;
  // The callable address of a module function; throws std::runtime_error if
  // there is none of that name.
  virtual EntryFn entry(const std::string& name) const = 0;
};

struct HostThrow {
  long value;
};

namespace state {
inline const Module* module = nullptr;
inline long calls = 0;
inline long throw_at = 0;
inline std::vector<std::string> traces;
}  // namespace state

// A backtrace longer than this is treated as a runaway walk (a broken CFA
// rule can loop) and stopped, which makes _Unwind_Backtrace report an error.
constexpr unsigned kMaxFrames = 4096;

struct Walk {
  std::vector<std::string> frames;
  unsigned index = 0;
};

inline _Unwind_Reason_Code on_frame(struct _Unwind_Context* ctx, void* arg) {
  Walk& w = *static_cast<Walk*>(arg);
  int before_insn = 0;
  uintptr_t ip = _Unwind_GetIPInfo(ctx, &before_insn);
  // Every frame but the first is a return address: the call it returns from
  // ends just before it, and for a call that ends its function (a noreturn
  // call, or a call right before padding) the IP itself already belongs to
  // the next function. Step back one byte into the call.
  if (w.index > 0 && !before_insn && ip != 0) ip -= 1;
  w.index++;
  std::string name = state::module->name_at(ip);
  if (name.empty()) name = "[host]";
  if (!(name == "[host]" && !w.frames.empty() && w.frames.back() == "[host]")) w.frames.push_back(name);
  if (w.index >= kMaxFrames) {
    w.frames.push_back("[stopped after " + std::to_string(kMaxFrames) + " frames]");
    return _URC_NORMAL_STOP;
  }
  return _URC_NO_REASON;
}

__attribute__((noinline)) inline std::string backtrace_line() {
  Walk w;
  int rc = static_cast<int>(_Unwind_Backtrace(on_frame, &w));
  std::string line;
  for (const std::string& f : w.frames) line += f + " ";
  return line + "(rc=" + std::to_string(rc) + ")";
}

// The host callback handed to every ENTRY. Unsigned arithmetic: the module's
// values may be anything, and the result must wrap the same on every target.
__attribute__((noinline)) inline long host(long x, long y) {
  long c = ++state::calls;
  state::traces.push_back(backtrace_line());
  long v = static_cast<long>(7UL * static_cast<unsigned long>(x) + 13UL * static_cast<unsigned long>(y) +
                             static_cast<unsigned long>(c));
  if (c == state::throw_at) throw HostThrow{v};
  return v;
}

inline void run_one(EntryFn fn, const Entry& e, long throw_at) {
  state::calls = 0;
  state::throw_at = throw_at;
  state::traces.clear();
  std::string mode = throw_at != 0 ? "throw " + std::to_string(throw_at) : "";
  std::printf("## %s %ld %ld %s\n", e.name.c_str(), e.a, e.b, mode.c_str());
  try {
    long r = fn(e.a, e.b, host);
    std::printf("result %ld\n", r);
  } catch (const HostThrow& t) {
    std::printf("caught %ld\n", t.value);
  }
  std::printf("calls %ld\n", state::calls);
  for (size_t i = 0; i < state::traces.size(); i++) std::printf("bt %zu: %s\n", i + 1, state::traces[i].c_str());
  std::fflush(stdout);
}

// Runs every ENTRY twice (plain, then throwing at the first host call).
inline void run_all(const Module& m, const std::vector<Entry>& entries) {
  state::module = &m;
  std::vector<EntryFn> fns;
  for (const Entry& e : entries) fns.push_back(m.entry(e.name));  // every name resolves before anything runs
  for (size_t i = 0; i < entries.size(); i++) {
    run_one(fns[i], entries[i], 0);
    run_one(fns[i], entries[i], 1);
  }
  state::module = nullptr;
}

inline long parse_long(const std::string& s, const std::string& where) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 0);
  if (s.empty() || errno != 0 || *end != '\0') throw std::runtime_error(where + ": not an integer: " + s);
  return v;
}

// The `ENTRY name a b` lines of a C source (the convention of sample.c's
// header comment): after any comment decoration the line starts with the word
// ENTRY, then a name and two integers, nothing else.
inline std::vector<Entry> read_entries(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<Entry> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    lineno++;
    // Comment decoration first (" * ", "// "), then the line must start with
    // the word ENTRY; prose that merely mentions ENTRY is not an entry.
    size_t at = line.find_first_not_of(" \t*/");
    if (at == std::string::npos || line.compare(at, 6, "ENTRY ") != 0) continue;
    std::istringstream words(line.substr(at + 6));
    std::string where = path + ":" + std::to_string(lineno);
    Entry e;
    std::string a, b, extra;
    if (!(words >> e.name >> a >> b)) throw std::runtime_error(where + ": expected `ENTRY name a b`");
    if (words >> extra) throw std::runtime_error(where + ": unexpected `" + extra + "` after `ENTRY name a b`");
    e.a = parse_long(a, where);
    e.b = parse_long(b, where);
    out.push_back(e);
  }
  if (out.empty()) throw std::runtime_error(path + ": no `ENTRY name a b` lines");
  return out;
}

}  // namespace driver
