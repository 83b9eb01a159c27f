// loader.cpp -- map an objfold ELF object the way Wasmtime's CodeMemory does
// and run its functions natively (or under qemu-user for a foreign arch).
//
//   loader OBJECT ENTRIES
//
// OBJECT is what `objfold encode` wrote; ENTRIES is any text with
// `ENTRY name a b` lines (normally the C source the records came from). The
// output is driver.h's format, byte for byte what expected.txt holds.
//
// What is done, in order (Wasmtime: crates/wasmtime/src/runtime/code_memory.rs
// and vm/sys/unix/unwind.rs, as restated in spec/reference.md §10):
//  1. Read the ELF header and section headers (elf64.h, no libelf). The object
//     must be ELFCLASS64, ET_REL, of this host's machine and byte order.
//  2. Find .text, .eh_frame and the symbol table. `.eh_frame` must start
//     exactly where the page-padded `.text` ends in the file
//     (eh_frame.sh_offset == text.sh_offset + text.sh_size): the FDEs' pcrel
//     initial locations assume that distance.
//  3. mmap one region, place .text at an address aligned to its
//     sh_addralign (0x1000, or 0x10000 on aarch64 linux), and copy the file
//     image from .text's offset to the end of .eh_frame as it is: no
//     relocations are applied (objfold objects have none).
//  4. .text read+exec, .eh_frame read-only; flush the icache.
//  5. __register_frame(eh_frame start): libgcc's one-call form, which walks
//     the section up to its zero terminator.
//  6. Name frames and find entries by the STB_LOCAL STT_FUNC symbols of .text
//     (value = offset in .text, size = body length).
//  7. Run (driver.h), __deregister_frame, munmap.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "driver.h"
#include "elf64.h"

extern "C" void __register_frame(void* begin);
extern "C" void __deregister_frame(void* begin);

namespace {

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

struct Function {
  std::string name;
  uint64_t offset, size;
};

class MappedObject final : public driver::Module {
 public:
  explicit MappedObject(const elf64::File& f) {
    if (f.type != elf64::ET_REL) throw Fail(f.path + ": not a relocatable object (e_type " + std::to_string(f.type) + ")");
    if (f.big_endian != elf64::host_big_endian())
      throw Fail(f.path + std::string(": object is ") + (f.big_endian ? "big" : "little") +
                 "-endian but this loader was built for a " + (elf64::host_big_endian() ? "big" : "little") +
                 "-endian host: run the loader built for the object's arch (under qemu-user)");
    if (f.machine != elf64::host_machine())
      throw Fail(f.path + ": e_machine " + std::to_string(f.machine) + " is not this host's (" +
                 std::to_string(elf64::host_machine()) + "): run the loader built for the object's arch (under qemu-user)");

    const elf64::Section* text = f.find(".text");
    const elf64::Section* eh = f.find(".eh_frame");
    if (!text) throw Fail(f.path + ": no .text section");
    if (!eh) throw Fail(f.path + ": no .eh_frame section (the loader needs SystemV unwind info)");
    for (size_t i = 0; i < f.sections.size(); i++)
      if (&f.sections[i] == text) text_index_ = i;

    uint64_t align = text->addralign == 0 ? 1 : text->addralign;
    if ((align & (align - 1)) != 0) throw Fail(f.path + ": .text sh_addralign " + hex(align) + " is not a power of two");
    // Wasmtime requires every section's offset in the image to honour its
    // alignment; here the image starts at .text, so this is the file check.
    if (text->offset % align != 0)
      throw Fail(f.path + ": .text file offset " + hex(text->offset) + " is not a multiple of its sh_addralign " + hex(align));
    if (eh->offset != text->offset + text->size)
      throw Fail(f.path + ": .eh_frame does not immediately follow .text in the file (.text " + hex(text->offset) + "+" +
                 hex(text->size) + " ends at " + hex(text->offset + text->size) + ", .eh_frame starts at " +
                 hex(eh->offset) + "): its pcrel FDE addresses would point at the wrong code");
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    if (text->size % static_cast<uint64_t>(page) != 0)
      throw Fail(f.path + ": .text size " + hex(text->size) + " is not a multiple of the host page size " +
                 hex(static_cast<uint64_t>(page)) + " (Wasmtime asserts .eh_frame is page aligned)");
    if (eh->size < 4 || f.u32(eh->offset + eh->size - 4) != 0)
      throw Fail(f.path + ": .eh_frame does not end with a zero terminator (libgcc's __register_frame walks to it)");

    text_size_ = text->size;
    uint64_t image = text->size + eh->size;
    uint64_t mapped = round_up(image, static_cast<uint64_t>(page));
    uint64_t map_align = std::max<uint64_t>(align, static_cast<uint64_t>(page));
    map_size_ = mapped + map_align;
    void* raw = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw Fail("mmap of " + hex(map_size_) + " bytes failed");
    raw_ = static_cast<unsigned char*>(raw);
    base_ = reinterpret_cast<unsigned char*>(round_up(reinterpret_cast<uintptr_t>(raw_), map_align));
    std::memcpy(base_, f.bytes.data() + text->offset, image);
    eh_frame_ = base_ + text->size;

    if (mprotect(base_, text->size, PROT_READ | PROT_EXEC) != 0) throw Fail("mprotect(.text, r-x) failed");
    if (mprotect(eh_frame_, mapped - text->size, PROT_READ) != 0) throw Fail("mprotect(.eh_frame, r--) failed");
    __builtin___clear_cache(reinterpret_cast<char*>(base_), reinterpret_cast<char*>(base_ + text->size));

    read_functions(f);
    __register_frame(eh_frame_);
    registered_ = true;
  }

  ~MappedObject() override {
    if (registered_) __deregister_frame(eh_frame_);
    if (raw_) munmap(raw_, map_size_);
  }

  std::string name_at(uintptr_t ip) const override {
    uintptr_t start = reinterpret_cast<uintptr_t>(base_);
    if (ip < start || ip - start >= text_size_) return "";
    uint64_t off = ip - start;
    // Functions sorted by offset: the last one starting at or before off.
    auto it = std::upper_bound(functions_.begin(), functions_.end(), off,
                               [](uint64_t o, const Function& fn) { return o < fn.offset; });
    if (it != functions_.begin()) {
      const Function& fn = *(it - 1);
      if (off < fn.offset + fn.size) return fn.name;
    }
    // Inside .text but in no function (padding, a veneer island): say so
    // rather than pretend it is the host.
    return "[text+" + hex(off) + "]";
  }

  driver::EntryFn entry(const std::string& name) const override {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw Fail("no function symbol named " + name + " in .text");
    return reinterpret_cast<driver::EntryFn>(base_ + functions_[it->second].offset);
  }

 private:
  static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

  void read_functions(const elf64::File& f) {
    for (const elf64::Symbol& s : f.symbols()) {
      if (s.type() != elf64::STT_FUNC || s.shndx != text_index_) continue;
      // objfold, like Wasmtime, writes function symbols with Compilation
      // scope: STB_LOCAL. Anything else is not an object it wrote.
      if (s.bind() != elf64::STB_LOCAL)
        throw Fail(f.path + ": function symbol " + s.name + " is not STB_LOCAL (binding " + std::to_string(s.bind()) + ")");
      if (s.value > text_size_ || s.size > text_size_ - s.value)
        throw Fail(f.path + ": symbol " + s.name + " [" + hex(s.value) + ", +" + hex(s.size) + ") lies outside .text");
      if (by_name_.count(s.name)) throw Fail(f.path + ": two function symbols named " + s.name);
      by_name_[s.name] = 0;
      functions_.push_back({s.name, s.value, s.size});
    }
    if (functions_.empty())
      throw Fail(f.path + ": no STT_FUNC symbols in .text (was it written with \"symbols\": false?)");
    std::sort(functions_.begin(), functions_.end(), [](const Function& a, const Function& b) { return a.offset < b.offset; });
    for (size_t i = 0; i < functions_.size(); i++) {
      by_name_[functions_[i].name] = i;
      if (i > 0 && functions_[i].offset < functions_[i - 1].offset + functions_[i - 1].size)
        throw Fail(f.path + ": functions " + functions_[i - 1].name + " and " + functions_[i].name + " overlap");
    }
  }

  size_t text_index_ = 0;
  uint64_t text_size_ = 0, map_size_ = 0;
  unsigned char* raw_ = nullptr;
  unsigned char* base_ = nullptr;
  unsigned char* eh_frame_ = nullptr;
  bool registered_ = false;
  std::vector<Function> functions_;
  std::map<std::string, size_t> by_name_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OBJECT ENTRIES\n  OBJECT   an ELF object written by objfold\n  ENTRIES  a file with `ENTRY name a b` lines (e.g. the C source)\n", argv[0]);
    return 2;
  }
  try {
    elf64::File f = elf64::File::read(argv[1]);
    std::vector<driver::Entry> entries = driver::read_entries(argv[2]);
    MappedObject m(f);
    driver::run_all(m, entries);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "loader: %s\n", e.what());
    return 2;
  }
  return 0;
}
