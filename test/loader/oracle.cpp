// oracle.cpp -- the same driver as loader.cpp, but with the C functions linked
// into the program by the ordinary toolchain, so that the output for any C
// source can be produced without objfold:
//
//   gcc FIXTURE_FLAGS -c calls.c -o calls.o
//   g++ -O2 oracle.cpp calls.o -o oracle
//   oracle calls.o calls.c > expected.txt
//
// argv[1] is the object that was linked in: its defined STT_FUNC symbols say
// which functions are "the module" (everything else is [host]). Their run-time
// ranges come from this program's own symbol table (/proc/self/exe, which
// qemu-user maps to the guest program), moved by the load bias measured on a
// function of this file, so PIE and non-PIE links both work. Frames are then
// named exactly as the loader names them: by the module function whose
// [value, value + size) holds the IP.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "driver.h"
#include "elf64.h"

extern "C" __attribute__((noinline, used)) void objfold_oracle_anchor() { __asm__ volatile(""); }

namespace {

struct Range {
  std::string name;
  uintptr_t start, size;
};

class LinkedModule final : public driver::Module {
 public:
  LinkedModule(const elf64::File& object, const elf64::File& self) {
    std::set<std::string> names;
    for (const elf64::Symbol& s : object.symbols())
      if (s.type() == elf64::STT_FUNC && s.shndx != elf64::SHN_UNDEF && !s.name.empty()) names.insert(s.name);
    if (names.empty()) throw std::runtime_error(object.path + ": defines no functions");

    std::vector<elf64::Symbol> own = self.symbols();
    if (own.empty()) throw std::runtime_error(self.path + ": no symbol table (was the oracle stripped?)");
    const elf64::Symbol* anchor = nullptr;
    for (const elf64::Symbol& s : own)
      if (s.name == "objfold_oracle_anchor" && s.type() == elf64::STT_FUNC) anchor = &s;
    if (!anchor) throw std::runtime_error(self.path + ": objfold_oracle_anchor not in its own symbol table");
    uintptr_t bias = reinterpret_cast<uintptr_t>(&objfold_oracle_anchor) - static_cast<uintptr_t>(anchor->value);

    for (const elf64::Symbol& s : own) {
      if (s.type() != elf64::STT_FUNC || s.shndx == elf64::SHN_UNDEF || !names.count(s.name)) continue;
      if (by_name_.count(s.name)) throw std::runtime_error(self.path + ": two functions named " + s.name);
      by_name_[s.name] = 0;
      ranges_.push_back({s.name, static_cast<uintptr_t>(s.value) + bias, static_cast<uintptr_t>(s.size)});
    }
    for (const std::string& n : names)
      if (!by_name_.count(n)) throw std::runtime_error(n + " is defined by " + object.path + " but not found in " + self.path);
    std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
    for (size_t i = 0; i < ranges_.size(); i++) by_name_[ranges_[i].name] = i;
  }

  std::string name_at(uintptr_t ip) const override {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), ip,
                               [](uintptr_t v, const Range& r) { return v < r.start; });
    if (it == ranges_.begin()) return "";
    const Range& r = *(it - 1);
    return ip - r.start < r.size ? r.name : "";
  }

  driver::EntryFn entry(const std::string& name) const override {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw std::runtime_error("no function named " + name + " in the linked object");
    return reinterpret_cast<driver::EntryFn>(ranges_[it->second].start);
  }

 private:
  std::vector<Range> ranges_;
  std::map<std::string, size_t> by_name_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s LINKED_OBJECT ENTRIES\n  LINKED_OBJECT  the gcc object linked into this program\n  ENTRIES        a file with `ENTRY name a b` lines (e.g. the C source)\n", argv[0]);
    return 2;
  }
  try {
    elf64::File object = elf64::File::read(argv[1]);
    elf64::File self = elf64::File::read("/proc/self/exe");
    std::vector<driver::Entry> entries = driver::read_entries(argv[2]);
    LinkedModule m(object, self);
    driver::run_all(m, entries);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "oracle: %s\n", e.what());
    return 2;
  }
  return 0;
}
