package io.kvmclock.hv;

/** Guest physical memory as the host sees it (the memory slot's userspace mapping). */
public interface GuestMemory {
    long size();

    byte[] read(long gpa, int length);

    void write(long gpa, byte[] data);
}
