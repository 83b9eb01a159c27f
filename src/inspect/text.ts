/**
 * The human-readable form of an `Inspection` (what `objfold inspect` prints
 * without `--json`). Offsets are hexadecimal text offsets unless a line says
 * otherwise; function names are printed with control characters escaped so
 * every entry stays on its line.
 */
import type { WinArm64Code, WinX64Code } from "../schema/records.js";
import type { Arch } from "../target.js";
import type { CfaInstructionView, CfaRuleView, FunctionView, Inspection, RegisterRuleView, UnwindRowView, UnwindView } from "./model.js";
import { dwarfRegister, x64Register } from "./registers.js";

const hex = (n: number): string => `0x${n.toString(16)}`;
const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s);

/** A name with control characters (and backslashes) escaped: one line, whatever the symbol holds. */
export const printable = (name: string): string =>
  // eslint-disable-next-line no-control-regex
  name.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === "\\" ? "\\\\" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));

const signed = (n: number): string => (n < 0 ? `-${-n}` : `+${n}`);

const cfaText = (arch: Arch, c: CfaRuleView | null): string => (c === null ? "CFA=?" : "expression" in c ? `CFA=expr(${c.expression})` : `CFA=${dwarfRegister(arch, c.register)}${signed(c.offset)}`);

const ruleText = (arch: Arch, r: RegisterRuleView): string => {
  const reg = dwarfRegister(arch, r.register);
  switch (r.rule) {
    case "undefined":
      return `${reg}=undef`;
    case "sameValue":
      return `${reg}=same`;
    case "offset":
      return `${reg}=[cfa${signed(r.offset)}]`;
    case "valOffset":
      return `${reg}=cfa${signed(r.offset)}`;
    case "register":
      return `${reg}=${dwarfRegister(arch, r.fromRegister)}`;
    case "expression":
      return `${reg}=[expr(${r.expression})]`;
    case "valExpression":
      return `${reg}=expr(${r.expression})`;
  }
};

const rowText = (arch: Arch, base: number, r: UnwindRowView): string =>
  `${pad(`${hex(base + r.start)}..${hex(base + r.end)}`, 24)} ${pad(cfaText(arch, r.cfa), 14)} ${r.registers.map((x) => ruleText(arch, x)).join(" ")}`.trimEnd();

/** One SystemV instruction in record form, e.g. `+1 offset rbp -16`. */
export const instructionText = (arch: Arch, i: CfaInstructionView): string => {
  const r = (n: number) => dwarfRegister(arch, n);
  const at = `+${i.at}`;
  switch (i.op) {
    case "cfa":
      return `${at} cfa ${r(i.register)}${signed(i.offset)}`;
    case "cfaRegister":
      return `${at} cfaRegister ${r(i.register)}`;
    case "cfaOffset":
      return `${at} cfaOffset ${i.offset}`;
    case "restore":
    case "undefined":
    case "sameValue":
      return `${at} ${i.op} ${r(i.register)}`;
    case "offset":
    case "valOffset":
      return `${at} ${i.op} ${r(i.register)} ${i.offset}`;
    case "register":
      return `${at} register ${r(i.register)} in ${r(i.fromRegister)}`;
    case "rememberState":
    case "restoreState":
    case "negateRaState":
      return `${at} ${i.op}`;
    case "argsSize":
      return `${at} argsSize ${i.size}`;
    case "aarch64SetPointerAuth":
      return `${at} aarch64SetPointerAuth ${i.returnAddresses ? "signed" : "unsigned"}`;
    case "defCfaExpression":
      return `${at} defCfaExpression ${i.expression}`;
    case "expression":
    case "valExpression":
      return `${at} ${i.op} ${r(i.register)} ${i.expression}`;
  }
};

const x64CodeText = (c: WinX64Code): string => {
  switch (c.op) {
    case "pushRegister":
      return `@${c.at} push ${x64Register(c.register)}`;
    case "setFpRegister":
      return `@${c.at} set frame register`;
    case "stackAlloc":
      return `@${c.at} alloc ${c.size}`;
    case "saveReg":
      return `@${c.at} save ${x64Register(c.register)} at rsp+${c.stackOffset}`;
    case "saveXmm":
      return `@${c.at} save xmm${c.register} at rsp+${c.stackOffset}`;
  }
};

const arm64CodeText = (c: WinArm64Code): string => {
  switch (c.op) {
    case "saveReg":
      return c.isPair ? `save_regp_x x${c.register}, x${c.register + 1}, -${c.stackOffset}` : `save_reg_x x${c.register}, -${c.stackOffset}`;
    case "saveFReg":
      return c.isPair ? `save_fregp_x d${c.register}, d${c.register + 1}, -${c.stackOffset}` : `save_freg_x d${c.register}, -${c.stackOffset}`;
    case "saveFpLrPair":
      return c.stackOffset === 0 ? "save_fplr 0" : `save_fplr_x -${c.stackOffset}`;
    case "allocS":
      return `alloc_s ${c.size}`;
    case "allocM":
      return `alloc_m ${c.size}`;
    case "allocL":
      return `alloc_l ${c.size}`;
    case "pacSignLr":
      return "pac_sign_lr";
    case "setFp":
      return "set_fp";
    case "addFp":
      return `add_fp ${c.offset}`;
  }
};

const unwindLines = (arch: Arch, f: FunctionView, u: UnwindView): string[] => {
  const out: string[] = [];
  switch (u.kind) {
    case "systemv": {
      out.push(`  unwind: FDE at .eh_frame+${hex(u.fde)} (CIE +${hex(u.cie)}), pc ${hex(u.pcBegin)}..${hex(u.pcBegin + u.pcRange)}`);
      out.push(`    instructions: ${u.instructions.length === 0 ? "none" : u.instructions.map((i) => instructionText(arch, i)).join("; ")}`);
      if (u.rows === null) out.push(`    rows: cannot be computed: ${u.rowsProblem ?? "?"}`);
      else for (const r of u.rows) out.push(`    ${rowText(arch, u.pcBegin, r)}`);
      break;
    }
    case "windowsX64": {
      const frame = u.frameRegister === null ? "no frame register" : `frame register ${x64Register(u.frameRegister)} = rsp+${u.frameRegisterOffset}`;
      out.push(`  unwind: UNWIND_INFO at .xdata+${hex(u.xdata)} (RVA ${hex(u.unwindInfo)}), .pdata+${hex(u.pdata)} ${hex(u.begin)}..${hex(u.end)}; prologue ${u.prologueSize} bytes, ${frame}`);
      out.push(`    codes (prologue order): ${u.codes.length === 0 ? "none" : u.codes.map(x64CodeText).join("; ")}`);
      break;
    }
    case "windowsArm64": {
      for (const fr of u.fragments)
        out.push(
          `  unwind: .xdata+${hex(fr.xdata)} for ${hex(fr.begin)}..${hex(fr.begin + fr.length)} (.pdata+${hex(fr.pdata)}, ${fr.codeWords} code words${fr.hasPrologue ? "" : ", no prologue: end_c"})`,
        );
      out.push(`    codes (prologue order): ${u.codes.length === 0 ? "none" : u.codes.map(arm64CodeText).join("; ")}`);
      break;
    }
  }
  if (f.size === 0) out.push("    (empty body)");
  return out;
};

const TARGET_UNWIND = { systemv: "SystemV .eh_frame", windowsX64: "Windows x64 .xdata/.pdata", windowsArm64: "Windows ARM64 .xdata/.pdata", none: "none" } as const;

/** The whole description as text lines (no trailing newline). */
export const renderText = (d: Inspection, file?: string): string => {
  const arch = d.target.arch;
  const L: string[] = [];
  const e = d.elf;
  L.push(`${file === undefined ? "object" : printable(file)}: ${d.fileSize} bytes, ${e.class} ${e.byteOrder}-endian, ET_REL, machine ${e.machine}, OS ABI ${e.osAbi}, e_flags ${hex(e.flags)}`);
  const t = d.target;
  const marks = [t.pulley === null ? undefined : `Pulley${t.pulley}`, t.wasmtime === null ? undefined : `Wasmtime ${t.wasmtime}`].filter((x) => x !== undefined);
  L.push(
    `target: ${arch}${marks.length > 0 ? ` (${marks.join(", ")})` : ""}; text alignment ${hex(t.textAlign)}; unwind: ${TARGET_UNWIND[t.unwind]}; triples: ${t.triples.length === 0 ? "none of the supported ones" : t.triples.join(", ")}`,
  );
  L.push("");
  L.push("sections:");
  L.push(`  [Nr] ${pad("name", 12)} ${pad("type", 9)} ${pad("offset", 10)} ${pad("size", 10)} ${pad("align", 8)} flags`);
  for (const s of d.sections)
    L.push(`  [${lpad(String(s.index), 2)}] ${pad(printable(s.name), 12)} ${pad(s.typeName, 9)} ${pad(hex(s.offset), 10)} ${pad(hex(s.size), 10)} ${pad(hex(s.align), 8)} ${s.flagNames.join(",") || "-"}`);
  L.push("");
  L.push(`symbols (${d.symbols.length}):`);
  if (d.symbols.length > 0) L.push(`  [Nr] ${pad("value", 10)} ${pad("size", 8)} ${pad("type", 6)} ${pad("bind", 6)} name`);
  for (const s of d.symbols) L.push(`  [${lpad(String(s.index), 2)}] ${pad(hex(s.value), 10)} ${pad(hex(s.size), 8)} ${pad(s.type, 6)} ${pad(s.bind, 6)} ${printable(s.name)}`);
  L.push("");
  const tx = d.text;
  L.push(`.text: ${hex(tx.size)} bytes at file offset ${hex(tx.fileOffset)}; functions and veneers end at ${hex(tx.end)}`);
  const source = d.functions.length === 0 ? "" : d.functions[0]!.source === "symbol" ? ", from symbols" : `, from ${d.functions[0]!.source === "fde" ? "FDEs" : ".pdata"} (no symbols)`;
  L.push(`functions (${d.functions.length}${source}):`);
  if (d.functions.length === 0) L.push("  none found (no function symbols, and no unwind entries to find them by)");
  for (const f of d.functions) L.push(`  ${pad(`${hex(f.offset)}..${hex(f.offset + f.size)}`, 24)} ${lpad(String(f.size), 8)} B  ${printable(f.name)}`);
  const veneers = d.islands.reduce((n, i) => n + i.veneers.length, 0);
  if (d.islands.length > 0) {
    L.push("");
    L.push(`islands (${d.islands.length}, ${veneers} veneers):`);
    for (const i of d.islands) {
      L.push(`  ${hex(i.offset)}..${hex(i.end)}`);
      for (const v of i.veneers) L.push(`    ${pad(hex(v.offset), 12)} veneer → ${v.function === null ? "?" : printable(v.function)} @ ${hex(v.target)}`);
    }
  }
  if (d.padding.length > 0) {
    L.push("");
    const total = d.padding.reduce((n, p) => n + p.size, 0);
    L.push(`padding (${d.padding.length} runs, ${total} bytes):`);
    for (const p of d.padding) L.push(`  ${pad(`${hex(p.offset)}..${hex(p.offset + p.size)}`, 24)} ${lpad(String(p.size), 8)} B`);
  }
  if (d.unwindTables?.kind === "systemv") {
    L.push("");
    L.push(`.eh_frame (at text + ${hex(d.unwindTables.address)}): ${d.unwindTables.cies.length} CIE, ${d.unwindTables.fdes} FDEs${d.unwindTables.terminator === null ? ", no terminator" : `, terminator at +${hex(d.unwindTables.terminator)}`}`);
    for (const c of d.unwindTables.cies)
      L.push(
        `  CIE +${hex(c.offset)}: version ${c.version}, augmentation "${c.augmentation}", code align ${c.codeAlign}, data align ${c.dataAlign}, return address ${dwarfRegister(arch, c.returnAddressRegister)}; ${c.initialInstructions.map((i) => instructionText(arch, i).replace(/^\+0 /, "")).join("; ")}`,
      );
  } else if (d.unwindTables !== null) {
    L.push("");
    L.push(`.xdata at text + ${hex(d.unwindTables.xdataAddress)}; .pdata: ${d.unwindTables.entries} entries`);
  }
  for (const f of d.functions) {
    L.push("");
    L.push(`${printable(f.name)}: ${hex(f.offset)}..${hex(f.offset + f.size)} (${f.size} bytes)`);
    if (f.calls.length === 0) L.push("  calls: none");
    else {
      L.push(`  calls (${f.calls.length}):`);
      for (const c of f.calls)
        L.push(`    ${pad(hex(c.instruction), 12)} ${pad(c.mnemonic, 6)} → ${c.function === null ? "?" : printable(c.function)} @ ${hex(c.target)}${c.veneer === null ? "" : ` via veneer @ ${hex(c.veneer)}`}`);
    }
    if (f.unwind === null) L.push("  unwind: none");
    else L.push(...unwindLines(arch, f, f.unwind));
  }
  if (d.warnings.length > 0) {
    L.push("");
    L.push("warnings:");
    for (const w of d.warnings) L.push(`  ${w}`);
  }
  return L.join("\n");
};
