package io.kvmclock.peer.qemu;

import io.kvmclock.time.PvclockTimeInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The clock guest as QEMU firmware ({@code -bios}): a 64 KiB image whose last 16 bytes hold the reset vector
 * (the CPU starts at F000:FFF0, physical 0xFFFF0), emitted here from the listing in {@link #code}. Nothing
 * else runs in the guest. Protocol (docs/qemu-peer.md), all little endian, all in guest RAM below 64 KiB:
 * <pre>
 * 0x1000  pvclock_vcpu_time_info, 32 bytes, written by KVM (MSR_KVM_SYSTEM_TIME_NEW = 0x1000 | 1)
 * 0x2000  header
 *   +0  u8[8] magic "KVMCLKQ1", written last at boot: the host finds guest RAM in QEMU's memory by it
 *   +8  u32 layout version (1)           +12 u32 event slots (256)
 *   +16 u32 heartbeat sequence: odd while the guest writes the heartbeat sample
 *   +20 u32 events written so far (slot = count mod slots)
 *   +24 u32 gap threshold in TSC cycles
 *   +32 heartbeat sample (40 bytes), rewritten on every loop
 * 0x2100  previous sample, 0x2128 current sample, 0x2150 the pvclock version at the sample's start
 *         (the guest's working copies)
 * 0x3000  event ring: 256 slots of 80 bytes, each (sample before, sample after)
 * </pre>
 * A sample is 40 bytes: the guest TSC (u64) then the 32-byte pvclock as it was when the guest read that TSC
 * (the guest retries until the pvclock version is even and the same before its RDTSC, in its copy and after it).
 * <p>The guest loops forever: take a sample, publish it as the heartbeat (sequence odd, copy, sequence even),
 * and when the TSC advanced more than the gap threshold since the previous sample, or the pvclock's content
 * (everything after the version) changed, append (previous, current) to the event ring, then increment the
 * count. A pause (stop/cont, a migration's blackout, a snapshot restore) therefore leaves an event holding
 * the last sample before the guest stopped and the first after it ran again, exact to the instruction; so
 * does a host preemption of the vCPU thread longer than the threshold, which the reader tells apart.
 */
public final class Firmware {
    private Firmware() {}

    public static final int IMAGE_SIZE = 64 * 1024;
    public static final int PVCLOCK_GPA = 0x1000;
    public static final int HEADER_GPA = 0x2000;
    public static final byte[] MAGIC = "KVMCLKQ1".getBytes(StandardCharsets.US_ASCII);
    public static final int LAYOUT_VERSION = 1;
    public static final int SAMPLE_SIZE = 8 + PvclockTimeInfo.SIZE;
    public static final int EVENT_SIZE = 2 * SAMPLE_SIZE;
    public static final int EVENT_SLOTS = 256;
    public static final int EVENTS_GPA = 0x3000;
    /** The header up to and including the heartbeat: what the host reads in one go. */
    public static final int HEADER_SIZE = 32 + SAMPLE_SIZE;
    /** Default gap threshold: 2^20 cycles (0.4 ms at 2.6 GHz); shorter gaps are ordinary loop jitter. */
    public static final long DEFAULT_GAP_CYCLES = 1L << 20;

    static final int OFF_VERSION = 8;
    static final int OFF_SLOTS = 12;
    static final int OFF_HEARTBEAT_SEQ = 16;
    static final int OFF_EVENT_COUNT = 20;
    static final int OFF_GAP = 24;
    static final int OFF_HEARTBEAT = 32;
    private static final int PREV = 0x2100;
    private static final int CUR = PREV + SAMPLE_SIZE;
    private static final int VERSION = CUR + SAMPLE_SIZE;
    private static final int STACK_TOP = 0xF000;

    /** The firmware image with the default gap threshold. */
    public static byte[] image() {
        return image(DEFAULT_GAP_CYCLES);
    }

    public static byte[] image(long gapCycles) {
        if (gapCycles < 1 || gapCycles > 0xffff_ffffL) {
            throw new IllegalArgumentException("gap threshold must be 1 to 2^32-1 cycles, got " + gapCycles);
        }
        byte[] code = code(gapCycles);
        byte[] img = new byte[IMAGE_SIZE];
        Arrays.fill(img, (byte) 0xF4); // hlt everywhere else
        if (code.length > IMAGE_SIZE - 16) {
            throw new IllegalStateException("firmware code of " + code.length + " bytes does not fit");
        }
        System.arraycopy(code, 0, img, 0, code.length);
        // The reset vector: the CPU starts at CS base 0xFFFF0000, IP 0xFFF0; a far jump puts it at F000:0000,
        // where QEMU maps the image's first byte (the last 64 KiB below 1 MiB alias the ROM).
        byte[] reset = new Asm16().jmpFar(0xF000, 0).cli().hlt().toArray();
        System.arraycopy(reset, 0, img, IMAGE_SIZE - 16, reset.length);
        return img;
    }

    private static byte[] code(long gapCycles) {
        Asm16 a = new Asm16();
        int hdr = HEADER_GPA;
        a.cli().xorAxAx().movSegmentsFromAx().movSp(STACK_TOP).cld();
        a.storeImm32(hdr + OFF_VERSION, LAYOUT_VERSION).storeImm32(hdr + OFF_SLOTS, EVENT_SLOTS)
                .storeImm32(hdr + OFF_HEARTBEAT_SEQ, 0).storeImm32(hdr + OFF_EVENT_COUNT, 0)
                .storeImm32(hdr + OFF_GAP, gapCycles);
        a.movEcx(0x4b564d01L).movEax(PVCLOCK_GPA | 1).xorEdxEdx().wrmsr(); // MSR_KVM_SYSTEM_TIME_NEW
        a.call("sample");
        copy(a, CUR, PREV, SAMPLE_SIZE);
        ByteBuffer m = ByteBuffer.wrap(MAGIC).order(ByteOrder.LITTLE_ENDIAN);
        a.storeImm32(hdr, Integer.toUnsignedLong(m.getInt(0))).storeImm32(hdr + 4, Integer.toUnsignedLong(m.getInt(4)));

        a.label("loop").call("sample");
        a.incDword(hdr + OFF_HEARTBEAT_SEQ);
        copy(a, CUR, hdr + OFF_HEARTBEAT, SAMPLE_SIZE);
        a.incDword(hdr + OFF_HEARTBEAT_SEQ);
        // 64-bit TSC gap: cur - prev; a negative gap has a non-zero high half and counts as an event.
        a.loadEax(CUR).loadEdx(CUR + 4).subEax(PREV).sbbEdx(PREV + 4).testEdxEdx().jne("event")
                .cmpEaxImm(gapCycles).ja("event");
        // pvclock content after the version: tsc_timestamp, system_time, mul, shift, flags, pads (6 dwords).
        a.movSi(CUR + 16).movDi(PREV + 16).movCx(6).repeCmpsd().jne("event");
        a.jmp("next");
        a.label("event").loadEax(hdr + OFF_EVENT_COUNT).andEaxImm(EVENT_SLOTS - 1).imulAx(EVENT_SIZE)
                .addAx(EVENTS_GPA).movDiAx().movSi(PREV).movCx(EVENT_SIZE / 4).repMovsd(); // PREV, CUR adjacent
        a.incDword(hdr + OFF_EVENT_COUNT);
        a.label("next");
        copy(a, CUR, PREV, SAMPLE_SIZE);
        a.jmp("loop");

        // sample: CUR = (TSC, pvclock) with the pvclock's version non-zero, even, and the same before the RDTSC,
        // in the copy and after it (pvclock_read_begin/retry): a pause between RDTSC and the copy brings a new
        // pvclock that must not be paired with the old TSC.
        a.label("sample").loadEax(PVCLOCK_GPA).testEaxEax().je("sample").storeEax(VERSION).testByte(VERSION, 1).jne("sample");
        a.rdtsc().storeEax(CUR).storeEdx(CUR + 4);
        copy(a, PVCLOCK_GPA, CUR + 8, PvclockTimeInfo.SIZE);
        a.loadEax(PVCLOCK_GPA).cmpEax(VERSION).jne("sample").cmpEax(CUR + 8).jne("sample");
        a.ret();
        return a.toArray();
    }

    private static void copy(Asm16 a, int from, int to, int bytes) {
        a.movSi(from).movDi(to).movCx(bytes / 4).repMovsd();
    }

    /** One (guest TSC, pvclock) pair the guest took together. */
    public record Sample(long tsc, PvclockTimeInfo pvclock) {
        /** The guest's kvmclock at this sample's TSC. */
        public long kvmclock() {
            return pvclock.read(tsc);
        }

        static Sample decode(byte[] b, int at) {
            long tsc = ByteBuffer.wrap(b, at, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            return new Sample(tsc, PvclockTimeInfo.decode(Arrays.copyOfRange(b, at + 8, at + SAMPLE_SIZE)));
        }
    }

    /** A gap the guest saw between two consecutive samples. */
    public record Gap(long index, Sample before, Sample after) {
        public long tscCycles() {
            return after.tsc() - before.tsc();
        }

        /** The pvclock's content (not just its version) differs across the gap. */
        public boolean pvclockChanged() {
            PvclockTimeInfo p = before.pvclock();
            PvclockTimeInfo q = after.pvclock();
            return p.tscTimestamp() != q.tscTimestamp() || p.systemTime() != q.systemTime() || p.mul() != q.mul()
                    || p.shift() != q.shift() || p.flags() != q.flags();
        }

        static Gap decode(long index, byte[] b) {
            return new Gap(index, Sample.decode(b, 0), Sample.decode(b, SAMPLE_SIZE));
        }
    }

    /** The header as the host read it: whether the guest is up, its heartbeat sequence and sample, event count. */
    public record Header(boolean ready, long heartbeatSeq, long eventCount, Sample heartbeat) {
        static Header decode(byte[] b) {
            boolean ready = Arrays.equals(Arrays.copyOf(b, 8), MAGIC);
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            return new Header(ready, Integer.toUnsignedLong(bb.getInt(OFF_HEARTBEAT_SEQ)),
                    Integer.toUnsignedLong(bb.getInt(OFF_EVENT_COUNT)), Sample.decode(b, OFF_HEARTBEAT));
        }
    }
}
