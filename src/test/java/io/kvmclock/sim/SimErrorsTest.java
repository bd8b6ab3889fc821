package io.kvmclock.sim;

import static org.junit.jupiter.api.Assertions.*;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscScaling;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class SimErrorsTest {

    private static void assertErrno(Errno e, Executable call) {
        HvException ex = assertThrows(HvException.class, call);
        assertTrue(ex.is(e), "expected " + e + ", got " + ex.getMessage());
    }

    private static SimHypervisor hv() {
        return SimHypervisor.create(SimHostConfig.ideal(2_200_000), 1);
    }

    @Test
    void setClockGuestRejectsLikeTheSeries() {
        try (SimHypervisor hv = hv()) {
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu v = vm.createVcpu(0);
            GuestProbe.start(v);
            GuestProbe.readTsc(v);
            PvclockTimeInfo good = v.getClockGuest();
            v.setClockGuest(good);
            assertErrno(Errno.EINVAL, () -> v.setClockGuest(new PvclockTimeInfo(0, 1, 0, 0, good.mul(), good.shift(), 1, 0)));
            assertErrno(Errno.EINVAL, () -> v.setClockGuest(new PvclockTimeInfo(0, 0, 0, 0, good.mul(), good.shift(), 1, 1)));
            assertErrno(Errno.EINVAL, () -> v.setClockGuest(new PvclockTimeInfo(0, 0, 0, 0, 0, good.shift(), 1, 0)));
            assertErrno(Errno.EINVAL, () -> v.setClockGuest(new PvclockTimeInfo(0, 0, 0, 0, good.mul(), 33, 1, 0)));
            TimeScale near = TimeScale.forGuestKhz(2_200_000 + 1);
            TimeScale far = TimeScale.forGuestKhz(2_200_000 + 2);
            v.setClockGuest(PvclockTimeInfo.of(0, 0, 0, near, 1));
            assertErrno(Errno.ERANGE, () -> v.setClockGuest(PvclockTimeInfo.of(0, 0, 0, far, 1)));
        }
    }

    @Test
    void clockGuestNeedsMasterClockAndSupport() {
        try (SimHypervisor hv = hv()) {
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu v0 = vm.createVcpu(0);
            Vcpu v1 = vm.createVcpu(1);
            GuestProbe.start(v0);
            GuestProbe.readTsc(v0);
            PvclockTimeInfo p = v0.getClockGuest();
            v1.setTscOffset(v1.getTscOffset() + 5_000_000_000L);
            GuestProbe.start(v1);
            GuestProbe.readTsc(v1);
            assertErrno(Errno.EINVAL, v0::getClockGuest);
            assertErrno(Errno.EINVAL, () -> v0.setClockGuest(p));
            ClockData c = vm.getClock();
            assertEquals(0, c.flags(), "non-master KVM_GET_CLOCK: flags 0");
            assertEquals(0, c.realtime());
        }
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 1)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu v = vm.createVcpu(0);
            GuestProbe.start(v);
            GuestProbe.readTsc(v);
            assertErrno(Errno.EINVAL, v::getClockGuest);
            assertFalse(hv.capabilities().clockGuest());
        }
    }

    @Test
    void tscKhzRules() {
        SimHostConfig unscaled = SimHostConfig.pvmIntel202611();
        long host = unscaled.tscKhz();
        try (SimHypervisor hv = SimHypervisor.create(unscaled, 1)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu v = vm.createVcpu(0);
            assertErrno(Errno.EINVAL, () -> vm.setTscKhz(host - 100_000));
            v.setTscKhz(host + 500);
            assertEquals(host + 500, v.getTscKhz(), "within 250 ppm: accepted without scaling");
            assertErrno(Errno.EINVAL, () -> v.setTscKhz(host * 3 / 4));
            assertErrno(Errno.EOPNOTSUPP, () -> v.setTscKhz(host * 3 / 2));
            assertErrno(Errno.EINVAL, () -> vm.setClock(new ClockData(0, 1, 0, 0)));
            assertErrno(Errno.EEXIST, () -> vm.createVcpu(0));
        }
        SimHostConfig svm = SimHostConfig.ideal(2_200_000).withScaling(Optional.of(TscScaling.SVM));
        try (SimHypervisor hv = SimHypervisor.create(svm, 1)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            assertErrno(Errno.EINVAL, () -> vm.setTscKhz(2_200_000L * 256));
            vm.setTscKhz(2_200_000L * 100);
            assertEquals(2_200_000L * 100, vm.createVcpu(0).getTscKhz());
        }
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611().withScaling(Optional.empty())
                .withTsc(2_200_000, 2_200_000_000L).withName("no-vm-scope"), 1)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            assertEquals(2_200_000, vm.getTscKhz());
        }
    }
}
