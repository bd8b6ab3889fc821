package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.drift.DriftPredictor;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.peer.qemu.Firmware;
import io.kvmclock.peer.qemu.GuestClock;
import io.kvmclock.peer.qemu.QemuProcess;
import io.kvmclock.peer.qemu.RealQemu;
import io.kvmclock.time.PvclockTimeInfo;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** inspect and vms on Debian's QEMU running the project's clock firmware (docs/qemu-peer.md) under real KVM. */
class InspectQemuTest {

    @Test
    void inspectFindsQemusPvclockAndGivesDriftsStepForItsAge() throws Exception {
        Path qemu = RealQemu.orSkip();
        try (QemuProcess q = QemuProcess.start(QemuProcess.Options.defaults().withQemu(qemu).withRamMiB(16));
             Hypervisor hv = KvmHypervisor.open()) {
            GuestClock clock = new GuestClock(q.guestRam(Duration.ofSeconds(10)));
            GuestClock.Beat beat = clock.beat();

            CliRun vms = CliRun.of("vms", "--json");
            assertEquals(0, vms.exitCode(), vms.err());
            JsonNode vm = null;
            for (JsonNode n : vms.json().get("vms")) {
                if (n.get("pid").asLong() == q.pid()) {
                    vm = n;
                }
            }
            assertTrue(vm != null, "QEMU is listed: " + vms.out());
            assertEquals("qemu", vm.get("vmm").asText());
            assertEquals(1, vm.get("vcpus").asInt());
            assertEquals(16L << 20, vm.get("guestRamBytes").asLong(), "QEMU's -m 16M");

            CliRun r = CliRun.of("inspect", Long.toString(q.pid()), "--json");
            assertEquals(0, r.exitCode(), r.err());
            JsonNode root = r.json();
            assertEquals("qemu", root.get("vmm").asText());
            JsonNode v = root.get("vcpus").get(0);
            assertEquals("0x" + Long.toHexString(Firmware.PVCLOCK_GPA), v.get("mappingOffset").asText(),
                    "the structure KVM writes, not the firmware's copies of it in its samples");
            PvclockTimeInfo theirs = beat.sample().pvclock();
            JsonNode pv = v.get("pvclock");
            assertEquals(Long.toUnsignedString(theirs.tscTimestamp()), pv.get("tscTimestamp").asText(),
                    "the reference the guest itself reads");
            assertEquals(theirs.mul(), pv.get("mul").asLong());
            assertTrue(v.get("tscStable").asBoolean(), "QEMU's guest runs on KVM's master clock");

            Assumptions.assumeFalse(v.get("pendingStepNs").isNull(),
                    () -> "skipped, the guest TSC is not knowable here: " + v.get("unknownReason").asText());
            long khz = root.get("hostTscKhz").asLong();
            long age = v.get("referenceAgeCycles").asLong();
            assertEquals(DriftPredictor.stepNs(khz, age), v.get("pendingStepNs").asLong(),
                    "drift's exact step for the reference age inspect found");
            // the guest TSC inspect assumed (host TSC + offset) is the one the firmware reads with rdtsc
            long guestTscNow = Long.parseLong(pv.get("tscTimestamp").asText()) + age;
            long hostNow = hv.readHostClocks().tsc();
            long offset = v.get("tscOffset").asLong();
            assertTrue(beat.sample().tsc() <= hostNow + offset, "the guest's rdtsc is not ahead of host TSC + offset");
            assertTrue(beat.sample().tsc() >= theirs.tscTimestamp() && guestTscNow >= beat.sample().tsc() - khz * 1000,
                    "the guest's own TSC (" + beat.sample().tsc() + ") fits the age: reference "
                            + theirs.tscTimestamp() + ", guest TSC now by inspect " + guestTscNow);
        }
    }

    @Test
    void aWrongGpaHintFallsBackToAScanAndARightOneIsConfirmed() throws Exception {
        Path qemu = RealQemu.orSkip();
        try (QemuProcess q = QemuProcess.start(QemuProcess.Options.defaults().withQemu(qemu).withRamMiB(16))) {
            q.guestRam(Duration.ofSeconds(10));
            CliRun wrong = CliRun.of("inspect", Long.toString(q.pid()), "--gpa", "0x7000", "--json");
            assertEquals(0, wrong.exitCode(), "a wrong hint only costs a scan: " + wrong.err());
            assertTrue(wrong.err().contains("scanned"), wrong.err());
            assertTrue(wrong.json().get("vcpus").get(0).get("gpa") == null, "the hint did not hold a pvclock");
            CliRun hinted = CliRun.of("inspect", Long.toString(q.pid()), "--gpa", "0x1000", "--json");
            assertEquals("0x1000", hinted.json().get("vcpus").get(0).get("gpa").asText());
        }
    }
}
