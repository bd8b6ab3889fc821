package io.kvmclock.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.time.PvclockTimeInfo;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClockGuestTest {

    /** The code, disassembled by hand: see ClockGuest.assemble for one comment per instruction. */
    @Test
    void codeIsTheThirtyByteProgram() {
        assertEquals("66b9014d564b" + "66b801200000" + "6631d2" + "0f30"
                        + "0f31" + "66e710" + "6689d0" + "66e711" + "ebf3",
                HexFormat.of().formatHex(ClockGuest.CODE));
    }

    @Test
    void snapshotBytesRoundTrip() {
        var s = new ClockGuest.Snapshot(new CpuState(new byte[144], new byte[312]), 0x2001, -5, new byte[] {1, 2, 3});
        assertEquals(s, ClockGuest.Snapshot.fromBytes(s.toBytes()));
    }

    @Tag("kvm")
    @Test
    void guestReportsAdvancingTscAndItsKvmclockAdvances() {
        try (Hypervisor hv = RealKvm.openOrSkip(); Vm vm = hv.createVm(VmConfig.defaults())) {
            ClockGuest g = ClockGuest.boot(vm);
            long t1 = g.readTsc();
            hv.elapse(2_000_000);
            long t2 = g.readTsc();
            assertTrue(Long.compareUnsigned(t2, t1) > 0);
            PvclockTimeInfo p = g.readPvclock();
            assertTrue(p.version() > 0 && (p.version() & 1) == 0, "a filled, stable pvclock: " + p);
            long k1 = g.kvmclockAt(t1);
            long k2 = g.kvmclockAt(t2);
            // the guest slept through elapse(2 ms): its kvmclock must have moved at least that much
            assertTrue(k2 - k1 >= 2_000_000, "kvmclock advanced " + (k2 - k1) + " ns over a 2 ms sleep");
            assertEquals(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, 0x4b564d01);
            assertEquals(ClockGuestAbi.PVCLOCK_GPA | 1, g.vcpu().getMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW),
                    "the guest enabled kvmclock at PVCLOCK_GPA");
        }
    }

    /**
     * Pause after a full report, resume in a fresh VM: the first exit must be the next low-half report (the
     * pending OUT was completed before saving, so it is not repeated), and KVM fills the new VM's pvclock.
     */
    @Tag("kvm")
    @Test
    void pauseAndResumeInAnotherVm() {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            ClockGuest.Snapshot s;
            long mul;
            try (Vm a = hv.createVm(VmConfig.defaults())) {
                ClockGuest g = ClockGuest.boot(a);
                g.readTsc();
                mul = g.readPvclock().mul();
                s = g.pause(true);
            }
            try (Vm b = hv.createVm(VmConfig.defaults())) {
                Vcpu v = b.createVcpu(0);
                ClockGuest g = ClockGuest.resume(b, v, s);
                VcpuExit first = v.run();
                assertTrue(first instanceof VcpuExit.IoOut(int port, int size, long value) && port == ClockGuestAbi.PORT_TSC_LO,
                        "first exit after resume: " + first);
                g.readTsc();
                assertEquals(mul, g.readPvclock().mul());
                assertArrayEquals(ClockGuest.CODE, b.memory().read(ClockGuestAbi.CODE_GPA, ClockGuest.CODE.length));
            }
        }
    }

    /**
     * A VMM live update: the guest's memory is a shared file; a second JVM maps the same file, resumes the
     * guest from the snapshot and runs it. The parent cleared the pvclock first, so a filled pvclock in the
     * file afterwards was written by KVM for the child's VM through the same memory.
     */
    @Tag("kvm")
    @Test
    void resumeInAnotherProcessMappingTheSameMemory(@TempDir Path dir) throws Exception {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            Path mem = dir.resolve("guest.mem");
            Path snap = dir.resolve("guest.snapshot");
            try (Vm a = hv.createVm(new VmConfig(VmConfig.DEFAULT_MEMORY, Optional.of(mem)))) {
                ClockGuest g = ClockGuest.boot(a);
                g.readTsc();
                ClockGuest.Snapshot s = g.pause(false);
                assertEquals(0, s.memory().length);
                Files.write(snap, s.toBytes());
                a.memory().write(ClockGuestAbi.PVCLOCK_GPA, new byte[PvclockTimeInfo.SIZE]);
            }
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(List.of(javaBin, "--enable-native-access=ALL-UNNAMED", RealKvm.childJvmOption(),
                    "-cp", System.getProperty("java.class.path"), ResumeInChild.class.getName(),
                    mem.toString(), snap.toString()))
                    .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("code=true"), out);
            assertTrue(out.contains("first=IoOut[port=" + ClockGuestAbi.PORT_TSC_LO + ", size=4"), out);
            byte[] file = Files.readAllBytes(mem);
            byte[] pv = Arrays.copyOfRange(file, (int) ClockGuestAbi.PVCLOCK_GPA, (int) ClockGuestAbi.PVCLOCK_GPA + PvclockTimeInfo.SIZE);
            PvclockTimeInfo filled = PvclockTimeInfo.decode(pv);
            assertTrue(filled.version() > 0 && filled.mul() != 0, "the child's KVM filled the shared pvclock: " + filled);
            assertTrue(out.contains("version=" + filled.version()), out);
        }
    }
}
