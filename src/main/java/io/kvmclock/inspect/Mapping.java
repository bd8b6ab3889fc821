package io.kvmclock.inspect;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of /proc/PID/maps: {@code start-end perms offset dev inode path}. Addresses are the VMM's virtual
 * addresses (guest RAM's host virtual addresses, "hva").
 */
public record Mapping(long start, long end, String perms, long offset, String path) {

    public long size() {
        return end - start;
    }

    public boolean readable() {
        return perms.charAt(0) == 'r';
    }

    public boolean writable() {
        return perms.charAt(1) == 'w';
    }

    public boolean executable() {
        return perms.charAt(2) == 'x';
    }

    public boolean shared() {
        return perms.charAt(3) == 's';
    }

    public boolean contains(long address) {
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
    }

    /**
     * Whether this mapping can be guest RAM a VMM handed KVM: readable and writable data, anonymous or backed
     * by memory (shm, memfd, hugetlbfs, /dev/zero), not code, not the stack or the kernel's vDSO pages. A
     * file on disk mapped writable is excluded: VMMs map RAM from memory, not from files they also execute.
     */
    public boolean mayBeGuestRam() {
        if (!readable() || !writable() || executable()) {
            return false;
        }
        if (path.isEmpty()) {
            return true;
        }
        return path.startsWith("/dev/shm/") || path.startsWith("/memfd:") || path.startsWith("/dev/hugepages")
                || path.startsWith("/dev/zero") || path.startsWith("/SYSV") || path.startsWith("[anon:");
    }

    public static List<Mapping> parse(List<String> lines) {
        List<Mapping> out = new ArrayList<>(lines.size());
        for (String line : lines) {
            out.add(parseLine(line));
        }
        return out;
    }

    public static Mapping parseLine(String line) {
        // start-end perms offset dev inode [path]: the path may hold spaces, so split the first five fields only
        String[] f = line.strip().split("\\s+", 6);
        if (f.length < 5) {
            throw new IllegalArgumentException("not a /proc/PID/maps line: " + line);
        }
        int dash = f[0].indexOf('-');
        long start = Long.parseUnsignedLong(f[0].substring(0, dash), 16);
        long end = Long.parseUnsignedLong(f[0].substring(dash + 1), 16);
        return new Mapping(start, end, f[1], Long.parseUnsignedLong(f[2], 16), f.length == 6 ? f[5] : "");
    }
}
