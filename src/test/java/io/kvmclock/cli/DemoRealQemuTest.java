package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.peer.qemu.QemuProcess;
import io.kvmclock.peer.qemu.RealQemu;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's real-QEMU rows: beside the re-implementations on real KVM, or "not run" with the reason. */
class DemoRealQemuTest {

    @Test
    void onTheModelTheRowsSayWhyTheyDidNotRun() {
        CliRun r = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "1", "--methods", "qemu", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertEquals("the sim backend: real QEMU needs real KVM", r.json().path("realQemu").path("notRun").asText());
        CliRun t = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "1", "--methods", "qemu");
        assertTrue(t.out().contains("real QEMU: not run: the sim backend"), t.out());
        assertEquals("--no-qemu", CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "1", "--methods", "qemu", "--no-qemu", "--json")
                .json().path("realQemu").path("notRun").asText());
    }

    @Tag("kvm")
    @Test
    void onRealKvmTheRowsStandBesideTheMethods(@TempDir Path dir) throws Exception {
        Path qemu = RealQemu.orSkip();
        CliRun r = CliRun.of("demo", "--backend", "kvm", "--trials", "1", "--methods", "qemu", "--qemu-trials", "1",
                "--json", "--report", dir.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode q = r.json().path("realQemu");
        assertEquals(QemuProcess.version(qemu), q.path("qemu").path("version").asText(), q.toString());
        assertEquals(3, q.path("scenarios").size());
        assertEquals("qemu", r.json().path("methods").get(0).path("name").asText());
        String html = Files.readString(dir.resolve("index.html"));
        assertTrue(html.contains("Real QEMU " + QemuProcess.version(qemu)) && html.contains("qemu-kvmclock-error.svg"), html);
    }

    @Test
    void qemuTrialsOutOfRangeIsBadInput() {
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--qemu-trials", "0").exitCode());
    }
}
