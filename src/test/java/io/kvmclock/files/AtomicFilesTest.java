package io.kvmclock.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @Test
    void replacesTheFileWholeAndLeavesItReadable(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("report.html");
        AtomicFiles.write(f, "old");
        AtomicFiles.write(f, "new content");
        assertEquals("new content", Files.readString(f));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temp file left behind");
        }
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTempFile(@TempDir Path dir) throws IOException {
        Path f = Files.createDirectory(dir.resolve("occupied"));
        Files.writeString(f.resolve("keep"), "x");
        // renaming a file over a non-empty directory fails: the directory and its content stay
        assertThrows(IOException.class, () -> AtomicFiles.write(f, "new"));
        assertEquals("x", Files.readString(f.resolve("keep")));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temp file left behind");
        }
    }
}
