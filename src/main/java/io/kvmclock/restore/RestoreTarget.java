package io.kvmclock.restore;

import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import java.util.List;

/**
 * A destination VM whose vCPUs exist and hold the guest's CPU state and memory, but have not run yet:
 * every restore method finishes before any vCPU enters the guest.
 */
public record RestoreTarget(Hypervisor hypervisor, Vm vm, List<Vcpu> vcpus) {
    public RestoreTarget {
        vcpus = List.copyOf(vcpus);
        if (vcpus.isEmpty()) {
            throw new IllegalArgumentException("a restore target needs at least one vCPU");
        }
    }
}
