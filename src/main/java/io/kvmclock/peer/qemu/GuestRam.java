package io.kvmclock.peer.qemu;

import io.kvmclock.inspect.Mapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A QEMU process's guest RAM, read from outside through /proc/PID/mem (needs ptrace access: root or the same
 * user with ptrace_scope 0). QEMU maps the pc machine's RAM block as one mapping whose first byte is GPA 0;
 * it is the writable mapping of at least the RAM size that holds the firmware's magic at {@link Firmware#HEADER_GPA}.
 */
public final class GuestRam implements AutoCloseable {
    private final long pid;
    private final long base;
    private final long size;
    private final FileChannel mem;

    private GuestRam(long pid, long base, long size, FileChannel mem) {
        this.pid = pid;
        this.base = base;
        this.size = size;
        this.mem = mem;
    }

    /** The guest RAM of {@code pid} once the firmware has written its magic, or empty if no mapping holds it yet. */
    public static Optional<GuestRam> find(long pid, long ramBytes) throws IOException {
        List<Mapping> maps = Mapping.parse(Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps")));
        FileChannel mem = FileChannel.open(Path.of("/proc", Long.toString(pid), "mem"), StandardOpenOption.READ);
        try {
            for (Mapping m : maps) {
                if (!m.readable() || !m.writable() || m.size() < ramBytes) {
                    continue;
                }
                byte[] magic = read(mem, m.start() + Firmware.HEADER_GPA, Firmware.MAGIC.length);
                if (Arrays.equals(magic, Firmware.MAGIC)) {
                    return Optional.of(new GuestRam(pid, m.start(), ramBytes, mem));
                }
            }
        } catch (IOException | RuntimeException e) {
            mem.close();
            throw e;
        }
        mem.close();
        return Optional.empty();
    }

    public long pid() {
        return pid;
    }

    /** The host virtual address of GPA 0 in the QEMU process. */
    public long hostAddress() {
        return base;
    }

    public byte[] read(long gpa, int length) throws IOException {
        if (gpa < 0 || length < 0 || gpa + length > size) {
            throw new IllegalArgumentException("guest range 0x" + Long.toHexString(gpa) + "+" + length + " outside RAM");
        }
        return read(mem, base + gpa, length);
    }

    private static byte[] read(FileChannel ch, long address, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            int n = ch.read(b, address + b.position());
            if (n <= 0) {
                throw new IOException("short read of process memory at 0x" + Long.toHexString(address));
            }
        }
        return b.array();
    }

    @Override
    public void close() throws IOException {
        mem.close();
    }
}
