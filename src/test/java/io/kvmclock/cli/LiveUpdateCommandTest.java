package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.demo.LiveUpdate;
import io.kvmclock.kvm.RealKvm;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LiveUpdateCommandTest {

    private static void requireKvm() {
        RealKvm.assumeAvailable();
    }

    @Tag("kvm")
    @Test
    void aSecondProcessResumesTheSameGuestWithPrecise(@TempDir Path dir) throws Exception {
        requireKvm();
        Path handoff = dir.resolve("handoff");
        CliRun r = CliRun.of("live-update", "--json", "--keep", handoff.toString(), "--run", "50ms");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertNotEquals(j.get("oldPid").asLong(), j.get("newPid").asLong(), "the restore ran in another process");
        assertTrue(j.get("committed").asBoolean(), j.toString());
        assertFalse(j.get("rolledBack").asBoolean(), j.toString());
        JsonNode res = j.get("result");
        assertFalse(res.get("steppedBackwards").asBoolean(), res.toString());
        assertFalse(res.get("fellBack").asBoolean(), res.toString());
        assertTrue(Math.abs(res.get("kvmclockErrorNs").asLong()) <= 2, res.toString());
        // the hand-over is a valid state file that state show can read
        CliRun show = CliRun.of("state", "show", handoff.resolve(LiveUpdate.STATE).toString(), "--json");
        assertEquals(ExitCode.OK, show.exitCode(), show.err());
        // its exact name: a suffix match also caught another run's file whose pid ends in the same digits
        Path memory = LiveUpdate.memoryFile(Path.of("/dev/shm"), j.get("oldPid").asLong());
        assertFalse(Files.exists(memory), "the shared memory file " + memory + " was removed");
    }

    /** What precise noted about its restore in the new process reaches the old process's JSON and its table. */
    @Tag("kvm")
    @Test
    void theMethodsNotesReachTheJsonAndTheText() {
        requireKvm();
        CliRun json = CliRun.of("live-update", "--json", "--run", "20ms");
        assertEquals(ExitCode.OK, json.exitCode(), json.err());
        JsonNode notes = json.json().get("result").get("notes");
        assertTrue(notes.isArray() && !notes.isEmpty(), json.out());
        CliRun text = CliRun.of("live-update", "--run", "20ms");
        assertEquals(ExitCode.OK, text.exitCode(), text.err());
        assertTrue(text.out().lines().anyMatch(l -> l.startsWith("note ") && l.length() > "note ".length() + 2), text.out());
    }

    @Test
    void unknownMethodIsBadInput() {
        CliRun r = CliRun.of("live-update", "--method", "teleport");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("teleport"), r.err());
    }
}
