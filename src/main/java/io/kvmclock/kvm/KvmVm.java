package io.kvmclock.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.GuestMemory;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A VM fd with one memory slot at guest physical 0: anonymous memory, or a file mapped shared when the config
 * names one, so another process can map the same guest. Owns its vCPUs and the mapping.
 */
final class KvmVm implements Vm {
    private final Kvm kvm;
    private final int fd;
    private final MemorySegment memory;
    private final List<KvmVcpu> vcpus = new ArrayList<>();
    private final GuestMemory guestMemory;
    private boolean closed;

    KvmVm(Kvm kvm, VmConfig config) {
        if (config.memoryBytes() <= 0 || config.memoryBytes() % 4096 != 0) {
            throw new IllegalArgumentException("guest memory must be a positive multiple of 4096 bytes, got "
                    + config.memoryBytes());
        }
        this.kvm = kvm;
        int vmFd = kvm.createVmFd();
        MemorySegment mem = null;
        try {
            Native.ioctl("KVM_SET_TSS_ADDR", vmFd, Ioctls.KVM_SET_TSS_ADDR, Kvm.TSS_ADDR);
            mem = config.sharedMemory().isPresent()
                    ? mapShared(config.sharedMemory().get(), config.memoryBytes())
                    : Native.mmap("guest memory", config.memoryBytes(),
                            Native.MAP_PRIVATE | Native.MAP_ANONYMOUS | Native.MAP_NORESERVE, -1, 0);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment region = arena.allocate(Layouts.KVM_USERSPACE_MEMORY_REGION);
                region.set(JAVA_INT, Layouts.REGION_SLOT, 0);
                region.set(JAVA_LONG, Layouts.REGION_GPA, 0);
                region.set(JAVA_LONG, Layouts.REGION_SIZE, mem.byteSize());
                region.set(JAVA_LONG, Layouts.REGION_UADDR, mem.address());
                Native.ioctl(arena, "KVM_SET_USER_MEMORY_REGION", vmFd, Ioctls.KVM_SET_USER_MEMORY_REGION, region);
            }
        } catch (RuntimeException e) {
            if (mem != null) {
                Native.munmap(mem);
            }
            Native.close(vmFd);
            throw e;
        }
        this.fd = vmFd;
        this.memory = mem;
        this.guestMemory = new Memory(mem);
    }

    /** Opens (creating if needed) the file, sizes it, maps it shared; the fd is closed, the mapping stays. */
    private static MemorySegment mapShared(Path file, long size) {
        try {
            if (Files.exists(file) && Files.size(file) != 0 && Files.size(file) != size) {
                throw new IllegalArgumentException("shared guest memory file " + file + " holds " + Files.size(file)
                        + " bytes, the VM needs " + size + ": use the same memory size as the VM that made it");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read shared guest memory file " + file + ": " + e.getMessage(), e);
        }
        int memFd;
        try {
            memFd = Native.open(file.toString(), Native.O_RDWR | Native.O_CREAT | Native.O_CLOEXEC, 0600);
        } catch (Native.NativeError e) {
            throw new IllegalArgumentException("cannot open shared guest memory file " + file + ": "
                    + Errno.describe(e.errno));
        }
        try {
            Native.ftruncate(memFd, size);
            return Native.mmap("shared guest memory " + file, size, Native.MAP_SHARED, memFd, 0);
        } finally {
            Native.close(memFd);
        }
    }

    int fd() {
        return fd;
    }

    Kvm kvm() {
        return kvm;
    }

    private void checkOpen() {
        if (closed) {
            throw new HvException("VM ioctl", Errno.EBADF.number(), "the VM is closed");
        }
    }

    @Override
    public ClockData getClock() {
        checkOpen();
        Native.Scratch x = Native.scratch();
        MemorySegment d = x.clock;
        d.fill((byte) 0);
        Native.ioctl(x.errno, "KVM_GET_CLOCK", fd, Ioctls.KVM_GET_CLOCK, d);
        return new ClockData(d.get(JAVA_LONG, Layouts.CLOCK_CLOCK), d.get(JAVA_INT, Layouts.CLOCK_FLAGS),
                d.get(JAVA_LONG, Layouts.CLOCK_REALTIME), d.get(JAVA_LONG, Layouts.CLOCK_HOST_TSC));
    }

    @Override
    public void setClock(ClockData data) {
        checkOpen();
        Native.Scratch x = Native.scratch();
        MemorySegment d = x.clock;
        d.fill((byte) 0); // the pads must be zero
        d.set(JAVA_LONG, Layouts.CLOCK_CLOCK, data.clock());
        d.set(JAVA_INT, Layouts.CLOCK_FLAGS, data.flags());
        d.set(JAVA_LONG, Layouts.CLOCK_REALTIME, data.realtime());
        d.set(JAVA_LONG, Layouts.CLOCK_HOST_TSC, data.hostTsc());
        Native.ioctl(x.errno, "KVM_SET_CLOCK", fd, Ioctls.KVM_SET_CLOCK, d);
    }

    @Override
    public long getTscKhz() {
        checkOpen();
        return Native.ioctl("KVM_GET_TSC_KHZ", fd, Ioctls.KVM_GET_TSC_KHZ, 0);
    }

    @Override
    public void setTscKhz(long khz) {
        checkOpen();
        Native.ioctl("KVM_SET_TSC_KHZ", fd, Ioctls.KVM_SET_TSC_KHZ, khz);
    }

    @Override
    public Vcpu createVcpu(int id) {
        checkOpen();
        KvmVcpu v = new KvmVcpu(this, id);
        vcpus.add(v);
        return v;
    }

    void forget(KvmVcpu v) {
        vcpus.remove(v);
    }

    @Override
    public List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    @Override
    public GuestMemory memory() {
        checkOpen();
        return guestMemory;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (KvmVcpu v : List.copyOf(vcpus)) {
            v.close();
        }
        Native.close(fd);
        Native.munmap(memory);
        kvm.forget(this);
    }

    private record Memory(MemorySegment segment) implements GuestMemory {
        @Override
        public long size() {
            return segment.byteSize();
        }

        @Override
        public byte[] read(long gpa, int length) {
            check(gpa, length);
            return segment.asSlice(gpa, length).toArray(ValueLayout.JAVA_BYTE);
        }

        @Override
        public void write(long gpa, byte[] data) {
            check(gpa, data.length);
            MemorySegment.copy(MemorySegment.ofArray(data), 0, segment, gpa, data.length);
        }

        private void check(long gpa, long length) {
            if (gpa < 0 || length < 0 || gpa > segment.byteSize() - length) {
                throw new IndexOutOfBoundsException(String.format(
                        "guest physical 0x%x + %d is outside guest memory (0x%x bytes)", gpa, length, segment.byteSize()));
            }
        }
    }
}
