package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.drift.DriftPredictor;
import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.inspect.ChildGuest;
import io.kvmclock.inspect.Debugfs;
import io.kvmclock.inspect.InspectException;
import io.kvmclock.inspect.Inspection;
import io.kvmclock.inspect.Inspector;
import io.kvmclock.inspect.ProcFs;
import io.kvmclock.inspect.PvclockScanner;
import io.kvmclock.inspect.TargetMemory;
import io.kvmclock.inspect.VmProcess;
import io.kvmclock.kvm.RealKvm;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** vms and inspect against a real KVM VM in another process: the clock guest held by {@code GuestInChild}. */
@Tag("kvm")
class InspectCommandTest {

    @BeforeAll
    static void needsKvm() {
        RealKvm.openOrSkip().close();
    }

    private static JsonNode vcpu0(CliRun r) {
        assertEquals(0, r.exitCode(), r.err());
        return r.json().get("vcpus").get(0);
    }

    @Test
    void inspectFindsThePvclockTheGuestSeesAndPredictsTheStepItThenTakes() throws Exception {
        try (ChildGuest child = ChildGuest.start("kvmclock")) {
            CliRun r = CliRun.of("inspect", Long.toString(child.pid()), "--json");
            JsonNode root = r.json();
            assertEquals(child.pid(), root.get("pid").asLong());
            assertEquals("kvmclock", root.get("vmm").asText());
            JsonNode v = vcpu0(r);
            JsonNode pv = v.get("pvclock");
            Map<String, String> seen = child.ask("pvclock");
            assertEquals(seen.get("version"), pv.get("version").asText());
            assertEquals(seen.get("tscTimestamp"), pv.get("tscTimestamp").asText());
            assertEquals(seen.get("systemTime"), pv.get("systemTime").asText());
            assertEquals(seen.get("mul"), pv.get("mul").asText());
            assertEquals(seen.get("shift"), pv.get("shift").asText());
            assertEquals("0x" + Long.toHexString(ClockGuestAbi.PVCLOCK_GPA), v.get("mappingOffset").asText(),
                    "found where the guest put it: its kvmclock MSR's address in its one memory slot at GPA 0");
            assertTrue(v.get("tscStable").asBoolean());
            Assumptions.assumeFalse(v.get("pendingStepNs").isNull(),
                    () -> "skipped, the guest TSC is not knowable here: " + v.get("unknownReason").asText());
            long khz = root.get("hostTscKhz").asLong();
            long age = v.get("referenceAgeCycles").asLong();
            long pending = v.get("pendingStepNs").asLong();
            assertEquals(DriftPredictor.stepNs(khz, age), pending, "drift's exact step for the reported age");
            // the same number to the ns: JSON drops a trailing zero, so compare values, not BigDecimal scales
            BigDecimal ageSeconds = BigDecimal.valueOf(age).divide(BigDecimal.valueOf(khz * 1000), 9, RoundingMode.HALF_EVEN);
            assertEquals(0, ageSeconds.compareTo(v.get("referenceAgeSeconds").decimalValue()),
                    ageSeconds + " vs " + v.get("referenceAgeSeconds"));

            // now KVM takes a new reference in the child: the guest steps by drift over the real cycle count,
            // and that is inspect's step plus drift over the few cycles between the inspection and the refresh
            Map<String, String> step = child.ask("refresh");
            long measured = Long.parseLong(step.get("measured"));
            long cycles = Long.parseLong(step.get("hostCycles"));
            // the raw clock's carried sub-ns remainder moves a real step by up to 2 ns (as drift --measure shows)
            assertTrue(Math.abs(DriftPredictor.stepNs(khz, cycles) - measured) <= 2, "the guest stepped " + measured
                    + " ns, drift says " + DriftPredictor.stepNs(khz, cycles) + " for " + cycles + " cycles");
            assertTrue(cycles >= age, "the refresh came after the inspection: " + cycles + " < " + age);
            long rest = DriftPredictor.stepNs(khz, cycles - age);
            // step(a + b) is step(a) + step(b) within 3 ns (DriftPredictor's bounds), plus the 2 above
            assertTrue(Math.abs(measured - pending - rest) <= 5, "inspect said " + pending + " ns at " + age
                    + " cycles; the guest stepped " + measured + " ns at " + cycles);
        }
    }

    @Test
    void aGpaHintIsReadWithoutAScanAndReported() throws Exception {
        try (ChildGuest child = ChildGuest.start("kvmclock")) {
            CliRun r = CliRun.of("inspect", Long.toString(child.pid()), "--gpa", "0x2000", "--json");
            assertEquals("0x2000", vcpu0(r).get("gpa").asText());
            assertFalse(r.err().contains("scanned"), "no scan needed: " + r.err());
            CliRun text = CliRun.of("inspect", Long.toString(child.pid()));
            assertEquals(0, text.exitCode(), text.err());
            assertTrue(text.out().contains("a master clock refresh now steps this guest"), text.out());
            assertTrue(text.err().contains("GiB/s"), "the scan says how fast it read: " + text.err());
        }
    }

    @Test
    void watchLooksAgainAndFollowsAPvclockTheGuestMoved() throws Exception {
        try (ChildGuest child = ChildGuest.start("kvmclock"); Hypervisor hv = RealKvm.openOrSkip()) {
            CliRun watch = CliRun.of("inspect", Long.toString(child.pid()), "--watch", "50ms", "--count", "2", "--json");
            assertEquals(0, watch.exitCode(), watch.err());
            assertEquals(2, watch.out().split("\n\\{").length, "two looks: " + watch.out());

            Inspector inspector = new Inspector(InspectSupport.host(hv), Debugfs.find());
            VmProcess p = ProcFs.read(child.pid());
            Inspection first = inspector.inspect(p, Optional.empty(), PvclockScanner.Progress.NONE);
            Inspection again = inspector.revalidate(first, PvclockScanner.Progress.NONE);
            assertTrue(again.scan().isEmpty(), "a valid pvclock is re-read where it was, not searched for");
            assertEquals(first.vcpus().getFirst().found().hva(), again.vcpus().getFirst().found().hva());
            child.ask("move 0x5000");
            Inspection moved = inspector.revalidate(again, PvclockScanner.Progress.NONE);
            assertTrue(moved.scan().isPresent(), () -> "the old place holds no pvclock any more: scanned again; found at +0x"
                    + Long.toHexString(moved.vcpus().getFirst().found().mappingOffset()) + " of "
                    + moved.vcpus().getFirst().found().mapping() + ", first at +0x"
                    + Long.toHexString(first.vcpus().getFirst().found().mappingOffset()));
            assertEquals(0x5000, moved.vcpus().getFirst().found().mappingOffset());
        }
    }

    @Test
    void inspectingWritesNothingToTheTarget() throws Exception {
        try (ChildGuest child = ChildGuest.start("kvmclock")) {
            String before = child.ask("crc").get("crc");
            CliRun r = CliRun.of("inspect", Long.toString(child.pid()), "--json");
            assertEquals(0, r.exitCode(), r.err());
            assertEquals(before, child.ask("crc").get("crc"), "guest RAM unchanged by the inspection");
        }
    }

    @Test
    void vmsListsTheChildWithItsVcpuRamAndUptime() throws Exception {
        try (ChildGuest child = ChildGuest.start("kvmclock")) {
            CliRun r = CliRun.of("vms", "--json");
            assertEquals(0, r.exitCode(), r.err());
            JsonNode vm = null;
            for (JsonNode n : r.json().get("vms")) {
                if (n.get("pid").asLong() == child.pid()) {
                    vm = n;
                }
            }
            assertTrue(vm != null, "the child is listed: " + r.out());
            assertEquals("kvmclock", vm.get("vmm").asText());
            assertEquals(1, vm.get("vcpus").asInt());
            assertEquals(2L << 20, vm.get("guestRamBytes").asLong(), "the 2 MiB memory slot the child mapped");
            assertTrue(vm.get("uptimeSeconds").asLong() >= 0);
            for (JsonNode n : r.json().get("vms")) {
                assertTrue(n.get("pid").asLong() != ProcessHandle.current().pid(), "the inspector's own VM is not listed");
            }
        }
    }

    @Test
    void aGuestThatNeverEnabledKvmclockIsOneLineAndExit1() throws Exception {
        try (ChildGuest child = ChildGuest.start("silent")) {
            CliRun r = CliRun.of("inspect", Long.toString(child.pid()));
            assertEquals(ExitCode.FAILURE, r.exitCode(), r.err());
            assertTrue(r.errLine().contains("no pvclock in the guest RAM"), r.err());
            assertEquals(1, r.err().strip().lines().filter(l -> l.startsWith("kvmclock:")).count(), r.err());
        }
    }

    @Test
    void noSuchProcessAndNotAVmmAreBadInput() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor(10, TimeUnit.SECONDS);
        CliRun r = CliRun.of("inspect", Long.toString(gone.pid()));
        assertEquals(ExitCode.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.errLine().contains("no process " + gone.pid()), r.err());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("inspect", "0").exitCode());

        Process sleeper = new ProcessBuilder("sleep", "30").start();
        try {
            CliRun s = CliRun.of("inspect", Long.toString(sleeper.pid()));
            assertEquals(ExitCode.BAD_INPUT, s.exitCode(), s.err());
            assertTrue(s.errLine().contains("holds no KVM VM"), s.err());
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aVmmThatExitsWhileItIsReadIsNamedAsExited() throws Exception {
        try (ChildGuest child = ChildGuest.start("kvmclock")) {
            VmProcess p = ProcFs.read(child.pid());
            try (TargetMemory mem = new TargetMemory(p)) {
                child.kill();
                InspectException e = assertThrows(InspectException.class, () -> new PvclockScanner(child.tscKhz(), false)
                        .scan(mem, p.guestRam().all(), PvclockScanner.Progress.NONE));
                assertEquals(InspectException.Problem.EXITED, e.problem());
                assertTrue(e.getMessage().contains("exited while its guest RAM was read"), e.getMessage());
                assertEquals(ExitCode.FAILURE, InspectSupport.userError(e).exitCode());
            }
        }
    }

    @Test
    void badOptionsAreOneLineAndExit2() {
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("inspect", "1", "--watch", "soon").exitCode());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("inspect", "1", "--gpa", "zz").exitCode());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("inspect", "1", "--count", "0", "--watch", "1s").exitCode());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("exporter", "--listen", "nowhere").exitCode());
    }
}
