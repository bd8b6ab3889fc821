package io.kvmclock.sim;

import io.kvmclock.hv.GuestMemory;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.BiConsumer;

/** Guest physical memory as a byte array, with allocation-free little-endian accessors for the hot path. */
final class SimMemory implements GuestMemory {
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    static final int PAGE = 4096;

    final byte[] bytes;
    /** Charges the host time a bulk copy of {@code pages} pages costs (a VMM saving or loading guest memory). */
    BiConsumer<String, Integer> bulkCost = (what, pages) -> { };

    SimMemory(long size) {
        if (size <= 0 || size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the model holds guest memory in one array: 1 byte..2 GiB, got " + size);
        }
        this.bytes = new byte[(int) size];
    }

    @Override
    public long size() {
        return bytes.length;
    }

    @Override
    public byte[] read(long gpa, int length) {
        check(gpa, length);
        if (length >= PAGE) {
            bulkCost.accept("memory read page", length / PAGE);
        }
        return Arrays.copyOfRange(bytes, (int) gpa, (int) gpa + length);
    }

    @Override
    public void write(long gpa, byte[] data) {
        Objects.requireNonNull(data);
        check(gpa, data.length);
        if (data.length >= PAGE) {
            bulkCost.accept("memory write page", data.length / PAGE);
        }
        System.arraycopy(data, 0, bytes, (int) gpa, data.length);
    }

    boolean contains(long gpa, int length) {
        return gpa >= 0 && length >= 0 && gpa + length <= bytes.length;
    }

    private void check(long gpa, int length) {
        if (!contains(gpa, length)) {
            throw new IndexOutOfBoundsException("guest range 0x" + Long.toHexString(gpa) + "+" + length
                    + " is outside the " + bytes.length + "-byte memory slot");
        }
    }

    int u32(int off) {
        return (int) U32.get(bytes, off);
    }

    long u64(int off) {
        return (long) U64.get(bytes, off);
    }

    void putU32(int off, int v) {
        U32.set(bytes, off, v);
    }

    void putU64(int off, long v) {
        U64.set(bytes, off, v);
    }
}
