package io.kvmclock.peer.qemu;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The few 16-bit real-mode instructions the firmware uses, each emitted by a method named after its mnemonic,
 * with labels and 16-bit relative jumps patched at the end. Data addresses are 16-bit offsets from DS = 0
 * (the firmware keeps all its data below 64 KiB); {@code 0x66} selects 32-bit operands. Encodings: Intel SDM
 * vol. 2 (ModRM {@code 00 reg 110} = a disp16 address).
 */
final class Asm16 {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Map<String, Integer> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();

    private record Fixup(int at, String label) {}

    private static final int EAX = 0;
    private static final int EDX = 2;

    int position() {
        return out.size();
    }

    Asm16 label(String name) {
        if (labels.putIfAbsent(name, out.size()) != null) {
            throw new IllegalStateException("label defined twice: " + name);
        }
        return this;
    }

    private Asm16 b(int... bytes) {
        for (int x : bytes) {
            out.write(x & 0xff);
        }
        return this;
    }

    private Asm16 imm16(int v) {
        if (v < 0 || v > 0xffff) {
            throw new IllegalArgumentException("not a 16-bit value: " + v);
        }
        return b(v, v >>> 8);
    }

    private Asm16 imm32(long v) {
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException("not a 32-bit value: " + v);
        }
        return b((int) v, (int) (v >>> 8), (int) (v >>> 16), (int) (v >>> 24));
    }

    /** A rel16 to {@code label}, relative to the end of the instruction (this field is its last 2 bytes). */
    private Asm16 rel16(String label) {
        fixups.add(new Fixup(out.size(), label));
        return b(0, 0);
    }

    // ---- instructions ----

    Asm16 cli() { return b(0xFA); }

    Asm16 cld() { return b(0xFC); }

    Asm16 xorAxAx() { return b(0x31, 0xC0); }

    /** mov ds, ax; mov es, ax; mov ss, ax. */
    Asm16 movSegmentsFromAx() { return b(0x8E, 0xD8, 0x8E, 0xC0, 0x8E, 0xD0); }

    Asm16 movSp(int v) { return b(0xBC).imm16(v); }

    Asm16 movSi(int v) { return b(0xBE).imm16(v); }

    Asm16 movDi(int v) { return b(0xBF).imm16(v); }

    Asm16 movCx(int v) { return b(0xB9).imm16(v); }

    Asm16 movEcx(long v) { return b(0x66, 0xB9).imm32(v); }

    Asm16 movEax(long v) { return b(0x66, 0xB8).imm32(v); }

    Asm16 xorEdxEdx() { return b(0x66, 0x31, 0xD2); }

    Asm16 wrmsr() { return b(0x0F, 0x30); }

    Asm16 rdtsc() { return b(0x0F, 0x31); }

    /** mov eax, [addr]. */
    Asm16 loadEax(int addr) { return b(0x66, 0xA1).imm16(addr); }

    /** mov [addr], eax. */
    Asm16 storeEax(int addr) { return b(0x66, 0xA3).imm16(addr); }

    /** mov edx, [addr]. */
    Asm16 loadEdx(int addr) { return b(0x66, 0x8B, modrm(EDX)).imm16(addr); }

    /** mov [addr], edx. */
    Asm16 storeEdx(int addr) { return b(0x66, 0x89, modrm(EDX)).imm16(addr); }

    /** mov dword [addr], imm32. */
    Asm16 storeImm32(int addr, long v) { return b(0x66, 0xC7, modrm(0)).imm16(addr).imm32(v); }

    /** sub eax, [addr]. */
    Asm16 subEax(int addr) { return b(0x66, 0x2B, modrm(EAX)).imm16(addr); }

    /** sbb edx, [addr]. */
    Asm16 sbbEdx(int addr) { return b(0x66, 0x1B, modrm(EDX)).imm16(addr); }

    /** cmp eax, [addr]. */
    Asm16 cmpEax(int addr) { return b(0x66, 0x3B, modrm(EAX)).imm16(addr); }

    /** cmp eax, imm32. */
    Asm16 cmpEaxImm(long v) { return b(0x66, 0x3D).imm32(v); }

    /** and eax, imm32. */
    Asm16 andEaxImm(long v) { return b(0x66, 0x25).imm32(v); }

    /** test eax, eax. */
    Asm16 testEaxEax() { return b(0x66, 0x85, 0xC0); }

    /** test edx, edx. */
    Asm16 testEdxEdx() { return b(0x66, 0x85, 0xD2); }

    /** test byte [addr], imm8. */
    Asm16 testByte(int addr, int v) { return b(0xF6, modrm(0)).imm16(addr).b(v); }

    /** inc dword [addr]. */
    Asm16 incDword(int addr) { return b(0x66, 0xFF, modrm(0)).imm16(addr); }

    /** imul ax, ax, imm8 (signed imm8). */
    Asm16 imulAx(int v) {
        if (v < -128 || v > 127) {
            throw new IllegalArgumentException("imul imm8 out of range: " + v);
        }
        return b(0x6B, 0xC0, v);
    }

    /** add ax, imm16. */
    Asm16 addAx(int v) { return b(0x05).imm16(v); }

    /** mov di, ax. */
    Asm16 movDiAx() { return b(0x89, 0xC7); }

    /** rep movsd: copy CX dwords from DS:SI to ES:DI. */
    Asm16 repMovsd() { return b(0xF3, 0x66, 0xA5); }

    /** repe cmpsd: compare CX dwords at DS:SI and ES:DI, stopping at the first difference (ZF=0). */
    Asm16 repeCmpsd() { return b(0xF3, 0x66, 0xA7); }

    Asm16 jmp(String label) { return b(0xE9).rel16(label); }

    Asm16 jne(String label) { return b(0x0F, 0x85).rel16(label); }

    Asm16 je(String label) { return b(0x0F, 0x84).rel16(label); }

    /** Jump if above (unsigned). */
    Asm16 ja(String label) { return b(0x0F, 0x87).rel16(label); }

    Asm16 call(String label) { return b(0xE8).rel16(label); }

    Asm16 ret() { return b(0xC3); }

    Asm16 hlt() { return b(0xF4); }

    /** jmp far seg:off. */
    Asm16 jmpFar(int segment, int offset) { return b(0xEA).imm16(offset).imm16(segment); }

    private static int modrm(int reg) {
        return (reg << 3) | 0b110;
    }

    /** The code with every jump resolved. */
    byte[] toArray() {
        byte[] code = out.toByteArray();
        for (Fixup f : fixups) {
            Integer target = labels.get(f.label());
            if (target == null) {
                throw new IllegalStateException("undefined label: " + f.label());
            }
            int rel = target - (f.at() + 2);
            code[f.at()] = (byte) rel;
            code[f.at() + 1] = (byte) (rel >>> 8);
        }
        return code;
    }
}
