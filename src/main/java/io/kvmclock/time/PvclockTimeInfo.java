package io.kvmclock.time;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * struct pvclock_vcpu_time_info (arch/x86/include/asm/pvclock-abi.h), packed, 32 bytes, little endian:
 * <pre>
 *  0 u32 version        odd while the host writes it
 *  4 u32 pad0
 *  8 u64 tsc_timestamp  guest TSC at the reference point
 * 16 u64 system_time    kvmclock ns at the reference point
 * 24 u32 tsc_to_system_mul
 * 28 s8  tsc_shift
 * 29 u8  flags          bit 0 TSC_STABLE, bit 1 GUEST_STOPPED
 * 30 u8  pad[2]
 * </pre>
 * Unsigned fields are held in wider or same-width Java types and validated to their C range, so that
 * {@link #decode} and {@link #encode} are exact inverses.
 */
public record PvclockTimeInfo(long version, long pad0, long tscTimestamp, long systemTime,
                              long mul, int shift, int flags, int pad) {

    public static final int SIZE = 32;
    public static final int FLAG_TSC_STABLE = 1;
    public static final int FLAG_GUEST_STOPPED = 2;
    /** The flags struct pvclock_vcpu_time_info defines (PVCLOCK_TSC_STABLE_BIT, PVCLOCK_GUEST_STOPPED). */
    public static final int KNOWN_FLAGS = FLAG_TSC_STABLE | FLAG_GUEST_STOPPED;

    public PvclockTimeInfo {
        checkRange("version", version, 0xFFFF_FFFFL);
        checkRange("pad0", pad0, 0xFFFF_FFFFL);
        checkRange("tsc_to_system_mul", mul, 0xFFFF_FFFFL);
        checkRange("flags", flags, 0xFF);
        checkRange("pad", pad, 0xFFFF);
        if (shift < Byte.MIN_VALUE || shift > Byte.MAX_VALUE) {
            throw new IllegalArgumentException("tsc_shift " + shift + " is not a signed 8-bit value");
        }
    }

    /** A structure as KVM writes it in master-clock mode (version even, pads zero). */
    public static PvclockTimeInfo of(long version, long tscTimestamp, long systemTime, TimeScale scale, int flags) {
        return new PvclockTimeInfo(version, 0, tscTimestamp, systemTime, scale.mul(), scale.shift(), flags, 0);
    }

    private static void checkRange(String name, long v, long max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException(name + " " + v + " is outside 0.." + max);
        }
    }

    public TimeScale scale() {
        return new TimeScale(mul, shift);
    }

    /** __pvclock_read_cycles: the kvmclock in ns at guest TSC {@code tsc} (u64 arithmetic, wraps). */
    public long read(long tsc) {
        return systemTime + scale().scaleDelta(tsc - tscTimestamp);
    }

    public boolean tscStable() {
        return (flags & FLAG_TSC_STABLE) != 0;
    }

    public boolean guestStopped() {
        return (flags & FLAG_GUEST_STOPPED) != 0;
    }

    /** The names of the bits set in {@code flags}, in bit order, then any others as "unknown 0x…". */
    public static List<String> flagNames(int flags) {
        List<String> names = new ArrayList<>();
        if ((flags & FLAG_TSC_STABLE) != 0) {
            names.add("TSC_STABLE");
        }
        if ((flags & FLAG_GUEST_STOPPED) != 0) {
            names.add("GUEST_STOPPED");
        }
        if ((flags & ~KNOWN_FLAGS) != 0) {
            names.add(String.format("unknown 0x%02x", flags & ~KNOWN_FLAGS));
        }
        return names;
    }

    public boolean padsZero() {
        return pad0 == 0 && pad == 0;
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt((int) version).putInt((int) pad0).putLong(tscTimestamp).putLong(systemTime)
                .putInt((int) mul).put((byte) shift).put((byte) flags).putShort((short) pad);
        return b.array();
    }

    public static PvclockTimeInfo decode(byte[] bytes) {
        if (bytes.length != SIZE) {
            throw new IllegalArgumentException("a pvclock_vcpu_time_info is " + SIZE + " bytes, got " + bytes.length);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long version = Integer.toUnsignedLong(b.getInt());
        long pad0 = Integer.toUnsignedLong(b.getInt());
        long tsc = b.getLong();
        long sys = b.getLong();
        long mul = Integer.toUnsignedLong(b.getInt());
        int shift = b.get();
        int flags = Byte.toUnsignedInt(b.get());
        int pad = Short.toUnsignedInt(b.getShort());
        return new PvclockTimeInfo(version, pad0, tsc, sys, mul, shift, flags, pad);
    }

    public String toHex() {
        return HexFormat.of().formatHex(encode());
    }
}
