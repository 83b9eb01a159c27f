// elf64.h -- a small ELF64 reader shared by loader.cpp and oracle.cpp.
//
// Written from the ELF specification (System V gABI, "Object Files"): the
// 64-byte file header, 64-byte section headers and 24-byte symbols. Either
// byte order is read (fields are swapped by EI_DATA), so the reader itself
// does not care which machine it runs on; the loader separately insists that
// the object matches the host before it runs anything.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace elf64 {

constexpr unsigned EI_CLASS = 4, EI_DATA = 5;
constexpr unsigned ELFCLASS64 = 2, ELFDATA2LSB = 1, ELFDATA2MSB = 2;
constexpr unsigned ET_REL = 1, ET_EXEC = 2, ET_DYN = 3;
constexpr unsigned SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_NOBITS = 8;
constexpr unsigned STT_FUNC = 2;
constexpr unsigned STB_LOCAL = 0;
constexpr unsigned SHN_UNDEF = 0, SHN_LORESERVE = 0xff00;
constexpr unsigned EM_S390 = 22, EM_X86_64 = 62, EM_AARCH64 = 183, EM_RISCV = 243;

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Section {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0, addr = 0, offset = 0, size = 0;
  uint32_t link = 0, info = 0;
  uint64_t addralign = 0, entsize = 0;
};

struct Symbol {
  std::string name;
  unsigned char info = 0, other = 0;
  uint16_t shndx = 0;
  uint64_t value = 0, size = 0;
  unsigned type() const { return info & 0xf; }
  unsigned bind() const { return info >> 4; }
};

struct File {
  std::string path;
  std::vector<unsigned char> bytes;
  bool big_endian = false;
  uint16_t type = 0, machine = 0;
  std::vector<Section> sections;

  // Reads and checks the header and section headers; throws Error on anything
  // malformed (truncated tables, offsets past the end, not ELFCLASS64).
  static File read(const std::string& path) {
    File f;
    f.path = path;
    FILE* fp = std::fopen(path.c_str(), "rb");
    if (!fp) throw Error(path + ": cannot open");
    unsigned char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) f.bytes.insert(f.bytes.end(), buf, buf + n);
    std::fclose(fp);
    f.parse();
    return f;
  }

  uint64_t uN(uint64_t off, unsigned width) const {
    if (off > bytes.size() || width > bytes.size() - off) throw Error(path + ": read past the end of the file");
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++) {
      unsigned b = bytes[off + (big_endian ? i : width - 1 - i)];
      v = (v << 8) | b;
    }
    return v;
  }
  uint16_t u16(uint64_t off) const { return (uint16_t)uN(off, 2); }
  uint32_t u32(uint64_t off) const { return (uint32_t)uN(off, 4); }
  uint64_t u64(uint64_t off) const { return uN(off, 8); }

  const Section* find(const std::string& name) const {
    const Section* hit = nullptr;
    for (const Section& s : sections)
      if (s.name == name) {
        if (hit) throw Error(path + ": more than one section named " + name);
        hit = &s;
      }
    return hit;
  }

  // The symbols of the (single) SHT_SYMTAB section, names resolved through
  // its sh_link string table.
  std::vector<Symbol> symbols() const {
    const Section* symtab = nullptr;
    for (const Section& s : sections)
      if (s.type == SHT_SYMTAB) {
        if (symtab) throw Error(path + ": more than one SHT_SYMTAB");
        symtab = &s;
      }
    std::vector<Symbol> out;
    if (!symtab) return out;
    if (symtab->entsize != 24) throw Error(path + ": .symtab sh_entsize is not 24");
    if (symtab->link >= sections.size() || sections[symtab->link].type != SHT_STRTAB)
      throw Error(path + ": .symtab sh_link does not name a string table");
    const Section& strtab = sections[symtab->link];
    for (uint64_t i = 0; i < symtab->size / 24; i++) {
      uint64_t at = symtab->offset + i * 24;
      Symbol s;
      s.name = string_at(strtab, u32(at));
      s.info = (unsigned char)uN(at + 4, 1);
      s.other = (unsigned char)uN(at + 5, 1);
      s.shndx = u16(at + 6);
      s.value = u64(at + 8);
      s.size = u64(at + 16);
      out.push_back(s);
    }
    return out;
  }

  std::string string_at(const Section& strtab, uint64_t index) const {
    if (index >= strtab.size) throw Error(path + ": string index past the end of its table");
    uint64_t start = strtab.offset + index, end = start;
    while (true) {
      if (end >= strtab.offset + strtab.size || end >= bytes.size()) throw Error(path + ": unterminated string");
      if (bytes[end] == 0) break;
      end++;
    }
    return std::string(bytes.begin() + (long)start, bytes.begin() + (long)end);
  }

 private:
  void parse() {
    if (bytes.size() < 64 || std::memcmp(bytes.data(), "\x7f" "ELF", 4) != 0) throw Error(path + ": not an ELF file");
    if (bytes[EI_CLASS] != ELFCLASS64) throw Error(path + ": not ELFCLASS64");
    if (bytes[EI_DATA] == ELFDATA2LSB) big_endian = false;
    else if (bytes[EI_DATA] == ELFDATA2MSB) big_endian = true;
    else throw Error(path + ": unknown EI_DATA");
    type = u16(16);
    machine = u16(18);
    uint64_t shoff = u64(40);
    uint16_t shentsize = u16(58);
    uint64_t shnum = u16(60);
    uint64_t shstrndx = u16(62);
    if (shoff == 0) return;
    if (shentsize != 64) throw Error(path + ": e_shentsize is not 64");
    // Extended numbering: the real counts live in section header 0.
    if (shnum == 0) shnum = u64(shoff + 32);
    if (shstrndx == 0xffff) shstrndx = u32(shoff + 40);
    if (shnum > (bytes.size() - std::min<uint64_t>(shoff, bytes.size())) / 64) throw Error(path + ": section header table past the end");
    for (uint64_t i = 0; i < shnum; i++) {
      uint64_t at = shoff + i * 64;
      Section s;
      s.type = u32(at + 4);
      s.flags = u64(at + 8);
      s.addr = u64(at + 16);
      s.offset = u64(at + 24);
      s.size = u64(at + 32);
      s.link = u32(at + 40);
      s.info = u32(at + 44);
      s.addralign = u64(at + 48);
      s.entsize = u64(at + 56);
      if (s.type != SHT_NOBITS && (s.offset > bytes.size() || s.size > bytes.size() - s.offset))
        throw Error(path + ": section " + std::to_string(i) + " lies past the end of the file");
      sections.push_back(s);
    }
    if (shstrndx >= sections.size()) throw Error(path + ": e_shstrndx out of range");
    for (uint64_t i = 0; i < shnum; i++) sections[i].name = string_at(sections[shstrndx], u32(shoff + i * 64));
  }
};

// The ELF machine and byte order this program was compiled for.
inline uint16_t host_machine() {
#if defined(__x86_64__)
  return EM_X86_64;
#elif defined(__aarch64__)
  return EM_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
  return EM_RISCV;
#elif defined(__s390x__)
  return EM_S390;
#else
#error "objfold's loader supports x86_64, aarch64, riscv64 and s390x hosts"
#endif
}

inline bool host_big_endian() { return __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__; }

}  // namespace elf64
