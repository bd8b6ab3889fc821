package io.kvmclock.restore;

import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import java.util.List;

/**
 * A destination VM whose vCPUs exist and hold the guest's CPU state and memory, but have not run yet:
 * every restore method finishes before any vCPU enters the guest. {@code prepared} is what the method did on
 * it before the blackout ({@link RestoreMethod#prepare}), {@link Preparation#NONE} when nothing.
 */
public record RestoreTarget(Hypervisor hypervisor, Vm vm, List<Vcpu> vcpus, Preparation prepared) {
    public RestoreTarget {
        vcpus = List.copyOf(vcpus);
        if (vcpus.isEmpty()) {
            throw new IllegalArgumentException("a restore target needs at least one vCPU");
        }
    }

    public RestoreTarget(Hypervisor hypervisor, Vm vm, List<Vcpu> vcpus) {
        this(hypervisor, vm, vcpus, Preparation.NONE);
    }

    public RestoreTarget with(Preparation p) {
        return new RestoreTarget(hypervisor, vm, vcpus, p);
    }
}
