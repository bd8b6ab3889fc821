package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvmclock.kvm.HostProbe;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.time.TimeScale;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProbeCommandTest {

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void jsonOnRealKvm() throws Exception {
        RealKvm.openOrSkip().close();
        Run r = run("probe", "--json");
        assertEquals(ExitCode.OK, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        for (String key : new String[] {"kernel", "tscKhz", "clocksource", "masterClock", "clockGuest", "selfCheck"}) {
            assertTrue(j.has(key), "missing " + key + " in " + r.out());
        }
        assertEquals(12, j.path("kvm").path("apiVersion").asInt());
        assertTrue(j.path("masterClock").asBoolean(), "the master clock must engage for the clock guest here");
        assertEquals("pass", j.path("selfCheck").asText());
        TimeScale predicted = TimeScale.forGuestKhz(j.path("predicted").path("vcpuTscKhz").asLong());
        assertEquals(predicted.mul(), j.path("pvclock").path("mul").asLong());
        assertEquals(predicted.shift(), j.path("pvclock").path("shift").asInt());
        assertEquals(predicted.mul(), j.path("predicted").path("mul").asLong());
        assertTrue(j.path("summary").asText().contains("tsc_khz " + j.path("tscKhz").asLong())
                && j.path("summary").asText().contains(j.path("kvm").path("module").asText()), r.out());
        assertTrue(j.path("tscMsrWritable").isBoolean() && !j.path("cpuVendor").asText().isEmpty(), r.out());
        assertTrue(j.path("tscScaleAttribute").isBoolean(), r.out());
        if (!j.path("capabilities").path("tscControl").asBoolean()) {
            assertFalse(j.path("tscScaleAttribute").asBoolean(), "KVM_VCPU_TSC_SCALE needs TSC control: " + r.out());
            assertEquals("ENXIO (6)", j.path("tscScaleErrno").asText(), r.out());
        }
    }

    @Test
    void tscScaleOnModelHosts() {
        try (SimHypervisor v6 = SimHypervisor.create(SimHostConfig.v6Host(), 1);
             SimHypervisor v618 = SimHypervisor.create(SimHostConfig.clockGuestHost(), 1)) {
            JsonNode a = ProbeCommand.toJson(HostProbe.run(v6));
            assertTrue(a.path("tscScaleAttribute").asBoolean(), a.toString());
            assertEquals(48, a.path("tscScale").path("tscFracBits").asInt());
            assertEquals(1L << 48, a.path("tscScale").path("tscRatio").asLong(), "a vCPU at the host rate reads ratio 1.0");
            JsonNode b = ProbeCommand.toJson(HostProbe.run(v618));
            assertFalse(b.path("tscScaleAttribute").asBoolean(), b.toString());
            assertEquals("ENXIO (6)", b.path("tscScaleErrno").asText());
        }
    }

    @Test
    void textTableOnRealKvm() {
        RealKvm.openOrSkip().close();
        Run r = run("probe");
        assertEquals(ExitCode.OK, r.code(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("self-check") && l.contains("pass")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("master clock") && l.contains("yes")), r.out());
    }

    @Test
    void missingDeviceIsAnEnvironmentErrorInOneLine(@TempDir Path dir) {
        Run r = run("probe", "--device", dir.resolve("kvm").toString());
        assertEquals(ExitCode.ENVIRONMENT, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("does not exist"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void aNodeThatIsNotKvmIsAnEnvironmentErrorInOneLine() {
        Run r = run("probe", "--device", "/dev/null");
        assertEquals(ExitCode.ENVIRONMENT, r.code());
        assertEquals("kvmclock: /dev/null opened but does not answer as KVM (KVM_GET_API_VERSION failed: ENOTTY (25)): "
                + "point --device at a KVM device node", r.err().strip());
    }

    @Test
    void helpHasAnExample() {
        Run r = run("probe", "--help");
        assertEquals(ExitCode.OK, r.code());
        assertTrue(r.out().contains("kvmclock probe --json"), r.out());
    }
}
