package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.FormatVersion;
import io.kvmclock.state.GuestPvclock;
import io.kvmclock.state.SampleState;
import io.kvmclock.state.StateFile;
import io.kvmclock.state.StateFormat;
import io.kvmclock.state.VcpuClockState;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscScaling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateCommandTest {

    @TempDir
    Path dir;

    private Path sample(String name, String... extra) {
        Path f = dir.resolve(name);
        String[] args = new String[3 + extra.length];
        args[0] = "state";
        args[1] = "sample";
        args[2] = f.toString();
        System.arraycopy(extra, 0, args, 3, extra.length);
        CliRun r = CliRun.of(args);
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("SYNTHETIC"), r.out());
        return f;
    }

    @Test
    void showPrintsAReadableView() {
        Path f = sample("guest.kvmclk");
        CliRun r = CliRun.of("state", "show", f.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        for (String s : List.of("SYNTHETIC", "KVM_GET_CLOCK", "TSC_STABLE REALTIME HOST_TSC", "master clock", "2,596,138,000",
                "guest memory", SampleState.BOOT_ID)) {
            assertTrue(r.out().contains(s), "'" + s + "' missing:\n" + r.out());
        }
    }

    @Test
    void showJsonHasEveryFieldWithU64sUnsigned() throws IOException {
        Path f = sample("guest.kvmclk", "--vcpus", "3");
        ClockState s = StateFile.read(f);
        CliRun r = CliRun.of("state", "show", f.toString(), "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(1, j.get("format").get("major").asInt());
        assertEquals(FormatVersion.CURRENT.minor(), j.get("format").get("minor").asInt());
        assertTrue(j.get("synthetic").asBoolean());
        assertEquals("synthetic", j.get("capture").get("kind").asText());
        assertEquals(Long.toUnsignedString(s.capture().at().tsc()), j.get("capture").get("hostTsc").asText());
        assertEquals(SampleState.BOOT_ID, j.get("host").get("bootId").asText());
        assertEquals(s.host().tscKhz(), j.get("host").get("tscKhz").asLong());
        assertEquals(14, j.get("host").get("capabilities").get("adjustClockFlags").asInt());
        assertEquals(List.of("TSC_STABLE", "REALTIME", "HOST_TSC"), texts(j.get("clock").get("flagNames")));
        assertEquals(Long.toUnsignedString(s.clock().clock()), j.get("clock").get("clock").asText());
        assertTrue(j.get("masterClock").asBoolean());
        assertEquals(3, j.get("vcpus").size());
        JsonNode v = j.get("vcpus").get(2);
        VcpuClockState sv = s.vcpus().get(2);
        assertEquals(2, v.get("id").asInt());
        assertTrue(sv.tscOffset() < 0, "the sample's offset has the top bit set");
        assertEquals(Long.toUnsignedString(sv.tscOffset()), v.get("tscOffset").bigIntegerValue().toString());
        assertEquals(Long.toUnsignedString(sv.guestTsc()), v.get("guestTsc").asText());
        assertEquals("none", v.get("scaling").get("kind").asText());
        PvclockTimeInfo p = ((GuestPvclock.Captured) sv.pvclock()).pvclock();
        JsonNode pj = v.get("pvclock");
        assertEquals("guest memory", pj.get("source").asText());
        assertEquals(p.version(), pj.get("version").asLong());
        assertEquals(p.mul(), pj.get("mul").asLong());
        assertEquals(p.shift(), pj.get("shift").asInt());
        assertEquals(p.scale().toHz(), pj.get("tscHz").asLong());
        assertEquals(List.of("TSC_STABLE"), texts(pj.get("flagNames")));
        assertEquals(Long.toUnsignedString(p.read(sv.guestTsc())), pj.get("kvmclockAtGuestTscNs").asText());
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void sampleWithAScaledGuestShowsTheVmxRatio() throws IOException {
        Path f = sample("scaled.kvmclk", "--guest-tsc-khz", "2GHz", "--vcpus", "1");
        JsonNode v = CliRun.of("state", "show", f.toString(), "--json").json().get("vcpus").get(0);
        assertEquals("vmx", v.get("scaling").get("kind").asText());
        assertEquals(48, v.get("scaling").get("fracBits").asInt());
        assertEquals(TscScaling.VMX.ratio(2_000_000, StateFile.read(f).host().tscKhz()), v.get("scaling").get("ratio").asLong());
        assertEquals(2_000_000, v.get("tscKhz").asLong());
        assertEquals(2_000_000_000L, v.get("pvclock").get("tscHz").asLong());
    }

    @Test
    void anOlderMinorFileIsShownWithItsVersion() {
        Path f = sample("old.kvmclk", "--format", "1.0");
        CliRun r = CliRun.of("state", "show", f.toString(), "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertEquals(0, r.json().get("format").get("minor").asInt());
        assertTrue(r.json().get("host").get("capabilities").isNull());
        CliRun text = CliRun.of("state", "show", f.toString());
        assertTrue(text.out().contains("older minor"), text.out());
    }

    @Test
    void aNewerMinorFileIsShownWithANote() throws IOException {
        Path f = sample("newer.kvmclk");
        byte[] b = Files.readAllBytes(f);
        b[10] = 7; // minor 7: the header is outside the CRC, and a newer minor may add nothing
        Files.write(f, b);
        CliRun r = CliRun.of("state", "show", f.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("newer minor: fields added after " + FormatVersion.CURRENT + " were skipped"), r.out());
        assertEquals(7, CliRun.of("state", "show", f.toString(), "--json").json().get("format").get("minor").asInt());
    }

    @Test
    void sampleRefusesToReplaceWithoutForce() throws IOException {
        Path f = sample("guest.kvmclk", "--vcpus", "1");
        byte[] before = Files.readAllBytes(f);
        CliRun r = CliRun.of("state", "sample", f.toString(), "--vcpus", "4");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("exists: use --force"), r.err());
        assertArrayEquals(before, Files.readAllBytes(f));
        sample("guest.kvmclk", "--vcpus", "4", "--force");
        assertEquals(4, StateFile.read(f).vcpus().size());
    }

    @Test
    void sampleRejectsBadArguments() {
        CliRun zero = CliRun.of("state", "sample", dir.resolve("x").toString(), "--vcpus", "0");
        assertEquals(ExitCode.BAD_INPUT, zero.exitCode());
        assertTrue(zero.errLine().contains("--vcpus 0"), zero.err());
        CliRun fmt = CliRun.of("state", "sample", dir.resolve("x").toString(), "--format", "2.0");
        assertEquals(ExitCode.BAD_INPUT, fmt.exitCode());
        assertTrue(fmt.errLine().contains("--format 2.0"), fmt.err());
        CliRun noDir = CliRun.of("state", "sample", dir.resolve("no/such/dir/x").toString());
        assertEquals(ExitCode.BAD_INPUT, noDir.exitCode());
        assertTrue(noDir.errLine().contains("no such directory"), noDir.err());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    @Test
    void missingFileIsBadInput() {
        CliRun r = CliRun.of("state", "show", dir.resolve("absent.kvmclk").toString());
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertEquals("kvmclock: " + dir.resolve("absent.kvmclk") + ": no such file", r.err().strip());
    }

    @Test
    void aDirectoryIsBadInput() {
        CliRun r = CliRun.of("state", "show", dir.toString());
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("is a directory"), r.err());
    }

    @Test
    void badFilesAreOneLineNamingTheProblem() throws IOException {
        byte[] good = StateFormat.encode(SampleState.create(1, 2_600_000, 2_600_000));
        byte[] crc = good.clone();
        crc[crc.length - 1] ^= 1;
        byte[] major = good.clone();
        major[8] = 9;
        Object[][] cases = {
            {new byte[0], "empty"},
            {Arrays.copyOf(good, good.length - 5), "truncated"},
            {"{\"vcpus\": []}".getBytes(), "not a kvmclock state file: it looks like JSON"},
            {crc, "CRC32C mismatch"},
            {major, "format 9." + FormatVersion.CURRENT.minor() + " is newer than this build reads"},
            {Arrays.copyOf(good, good.length + 1), "trailing garbage"},
        };
        for (Object[] c : cases) {
            Path f = dir.resolve("bad.kvmclk");
            Files.write(f, (byte[]) c[0]);
            CliRun r = CliRun.of("state", "show", f.toString(), "--json");
            assertEquals(ExitCode.BAD_INPUT, r.exitCode(), r.err());
            assertEquals("", r.out());
            assertEquals(1, r.err().strip().split("\n").length, "one line: " + r.err());
            assertTrue(r.errLine().startsWith("kvmclock: " + f + ": "), r.err());
            assertTrue(r.errLine().contains((String) c[1]), c[1] + " not in: " + r.err());
        }
    }
}
