package io.kvmclock.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Reads another process's memory with process_vm_readv(2): a single copy from the target's pages into a
 * direct buffer, nothing written to the target (the call has no write direction), the target not stopped.
 * The same ptrace access check as /proc/PID/mem applies. Here because FFM lives in this package only.
 */
public final class ProcessMemoryReader {
    private ProcessMemoryReader() {}

    /**
     * Fills {@code dst} (direct, from its position to its limit) from {@code address} in {@code pid}; returns
     * the bytes read (fewer at an unmapped page) and advances the position. Throws HvException with the errno:
     * ESRCH when the process is gone, EPERM/EACCES without ptrace access, EFAULT when nothing is mapped there.
     */
    public static long read(long pid, long address, ByteBuffer dst) {
        if (!dst.isDirect()) {
            throw new IllegalArgumentException("process_vm_readv needs a direct buffer");
        }
        MemorySegment local = MemorySegment.ofBuffer(dst);
        if (local.byteSize() == 0) {
            return 0;
        }
        try (Arena arena = Arena.ofConfined()) {
            long n = Native.processVmReadv(arena, Math.toIntExact(pid), local, address);
            dst.position(dst.position() + (int) n);
            return n;
        }
    }
}
