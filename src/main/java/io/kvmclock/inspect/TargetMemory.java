package io.kvmclock.inspect;

import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.inspect.InspectException.Problem;
import io.kvmclock.kvm.ProcessMemoryReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * Another process's memory, read only: process_vm_readv(2) (one copy, the target keeps running; it has no
 * write direction), or, where the kernel lacks it, positional reads of /proc/PID/mem opened O_RDONLY (the
 * kernel's access_remote_vm through a bounce page: about a third slower here, docs/inspect.md). Either way
 * nothing can be written to the target. Which
 * pages are there comes from /proc/PID/pagemap (bit 63 present, bit 62 swapped): a page in neither state
 * was never touched and reads as zeros, so the scanner skips it without making the kernel map it.
 */
public final class TargetMemory implements AutoCloseable {
    public static final int PAGE = 4096;
    private static final long PRESENT = 1L << 63;
    private static final long SWAPPED = 1L << 62;

    private final VmProcess process;
    private final FileChannel mem;
    private final FileChannel pagemap;
    private boolean vmReadv = true;

    public TargetMemory(VmProcess process) {
        this.process = process;
        try {
            this.mem = FileChannel.open(ProcFs.dir(process.pid()).resolve("mem"), StandardOpenOption.READ);
        } catch (IOException e) {
            throw ProcFs.failure(process.pid(), "mem", e);
        }
        FileChannel pm;
        try {
            pm = FileChannel.open(ProcFs.dir(process.pid()).resolve("pagemap"), StandardOpenOption.READ);
        } catch (IOException e) {
            closeQuietly(mem);
            throw ProcFs.failure(process.pid(), "pagemap", e);
        }
        this.pagemap = pm;
    }

    /**
     * Reads {@code buf.remaining()} bytes at {@code address}; false when the range is not readable any more
     * (unmapped meanwhile). Throws EXITED when the process is gone: the kernel then reads nothing at all.
     */
    public boolean read(long address, ByteBuffer buf) {
        long pos = address;
        while (buf.hasRemaining()) {
            long n = readOnce(pos, buf);
            if (n <= 0) {
                checkAlive();
                return false;
            }
            pos += n;
        }
        return true;
    }

    /** One read at {@code pos}: the bytes read, or -1 when nothing is readable there. */
    private long readOnce(long pos, ByteBuffer buf) {
        if (vmReadv && buf.isDirect()) {
            try {
                return ProcessMemoryReader.read(process.pid(), pos, buf);
            } catch (HvException e) {
                if (e.is(Errno.EPERM) || e.is(Errno.EACCES)) {
                    throw new InspectException(Problem.NO_PERMISSION, "cannot read the memory of process "
                            + process.pid() + " (process_vm_readv: " + e.getMessage()
                            + "); run as root (or as the VMM's user, with ptrace allowed)", e);
                }
                if (!e.is(Errno.ENOSYS)) {
                    return -1;
                }
                vmReadv = false;
            }
        }
        try {
            return mem.read(buf, pos);
        } catch (IOException e) {
            return -1;
        }
    }

    /** One 32-byte structure (or any small read) at {@code address}, empty array when unreadable. */
    public byte[] readBytes(long address, int length) {
        ByteBuffer b = ByteBuffer.allocateDirect(length);
        if (!read(address, b)) {
            return new byte[0];
        }
        byte[] out = new byte[length];
        b.flip().get(out);
        return out;
    }

    /**
     * Fills {@code present} for the {@code pages} pages from {@code address}: true where the page is in RAM or
     * swap. {@code buf} holds at least 8 * pages bytes.
     */
    public void present(long address, int pages, boolean[] present, ByteBuffer buf) {
        buf.clear().limit(pages * 8).order(ByteOrder.LITTLE_ENDIAN);
        long pos = (address / PAGE) * 8;
        try {
            while (buf.hasRemaining()) {
                int n = pagemap.read(buf, pos + buf.position());
                if (n <= 0) {
                    checkAlive();
                    break;
                }
            }
        } catch (IOException e) {
            checkAlive();
        }
        int got = buf.position() / 8;
        for (int i = 0; i < pages; i++) {
            long e = i < got ? buf.getLong(i * 8) : 0;
            present[i] = (e & (PRESENT | SWAPPED)) != 0;
        }
    }

    private void checkAlive() {
        if (!ProcFs.alive(process)) {
            throw new InspectException(Problem.EXITED, "process " + process.pid() + " (" + process.vmmName()
                    + ") exited while its guest RAM was read");
        }
    }

    @Override
    public void close() {
        closeQuietly(mem);
        closeQuietly(pagemap);
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // read-only channels: nothing was written that a failed close could lose
        }
    }
}
