package io.kvmclock.inspect;

import java.time.Instant;
import java.util.List;

/**
 * A process holding KVM VMs, as /proc shows it. {@code vmFds} are its {@code anon_inode:kvm-vm} fds,
 * {@code vcpus} the ids of its {@code anon_inode:kvm-vcpu:N} fds (in fd order), {@code guestRam} the mappings
 * that hold its guest RAM as far as maps can tell ({@link GuestRam}), {@code started} the process start time,
 * which tells a pid reused by another process apart.
 */
public record VmProcess(long pid, Vmm vmm, String comm, List<Integer> vmFds, List<Vcpu> vcpus, GuestRam guestRam,
                        Instant started, long uptimeSeconds) {

    public VmProcess {
        vmFds = List.copyOf(vmFds);
        vcpus = List.copyOf(vcpus);
    }

    /** One vCPU fd: KVM's vcpu id (the N of kvm-vcpu:N) and the fd number. */
    public record Vcpu(int id, int fd) {}

    /** The VMM's name for people: the known VMM, or the process's comm. */
    public String vmmName() {
        return vmm == Vmm.OTHER ? comm : vmm.label();
    }
}
