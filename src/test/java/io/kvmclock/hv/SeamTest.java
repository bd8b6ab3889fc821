package io.kvmclock.hv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.kvm.RealKvm;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** What io.kvmclock.hv promises holds on both backends alike. */
class SeamTest {

    private static void closedHandlesFailWithEbadf(Hypervisor hv) {
        Vm vm = hv.createVm(VmConfig.defaults());
        Vcpu v = vm.createVcpu(0);
        v.close();
        HvException e = assertThrows(HvException.class, v::getTscOffset, hv.backend() + ": a closed vCPU");
        assertTrue(e.is(Errno.EBADF), hv.backend() + ": " + e.getMessage());
        vm.close();
        e = assertThrows(HvException.class, vm::getClock, hv.backend() + ": a closed VM");
        assertTrue(e.is(Errno.EBADF), hv.backend() + ": " + e.getMessage());
    }

    private static void vcpusIsACopy(Hypervisor hv) {
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            Vcpu first = vm.createVcpu(0);
            List<Vcpu> before = vm.vcpus();
            vm.createVcpu(1);
            assertEquals(List.of(first), before, hv.backend() + ": a vCPU created later is not in an earlier copy");
            assertEquals(2, vm.vcpus().size(), hv.backend());
            assertThrows(UnsupportedOperationException.class, () -> before.add(first), hv.backend());
        }
    }

    @Test
    void theModel() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 1)) {
            closedHandlesFailWithEbadf(hv);
            vcpusIsACopy(hv);
        }
    }

    @Tag("kvm")
    @Test
    void realKvm() {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            closedHandlesFailWithEbadf(hv);
            vcpusIsACopy(hv);
        }
    }
}
