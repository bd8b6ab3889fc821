package io.kvmclock.cli;

import io.kvmclock.drift.Durations;
import io.kvmclock.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The checks every command makes on its options before any work starts: durations within a range, output
 * paths that can be written, and text from files made safe to print. One place, so every option says the
 * same thing the same way (docs/faults.md).
 */
final class Inputs {
    private Inputs() {}

    static final long NS_PER_S = 1_000_000_000L;

    /**
     * A duration in ns, as an option's converter read it, within [minNs, maxNs]; outside, bad input naming the
     * option, the value and the range.
     */
    static long boundedNs(String option, long ns, long minNs, long maxNs) {
        if (ns < minNs || ns > maxNs) {
            String range = minNs <= 0 ? "at most " + Durations.formatExactNs(maxNs)
                    : Durations.formatExactNs(minNs) + " to " + Durations.formatExactNs(maxNs);
            throw UserError.badInput(option + " " + Durations.formatExactNs(Math.max(0, ns)) + " is out of range: " + range);
        }
        return ns;
    }

    /** An already parsed duration in seconds within [0, maxNs]. */
    static long boundedSeconds(String option, long seconds, long maxNs) {
        if (seconds < 0 || seconds > maxNs / NS_PER_S) {
            throw UserError.badInput(option + " " + Durations.format(Math.max(0, seconds)) + " is out of range: at most "
                    + Durations.format(maxNs / NS_PER_S));
        }
        return seconds;
    }

    /**
     * An output file named by {@code option}: not empty, not a folder, in a folder that exists and takes a
     * new file (checked by creating and removing a temp file there). Exit 2 naming what is wrong otherwise.
     */
    static Path outputFile(String option, Path file) {
        if (file.toString().isEmpty()) {
            throw UserError.badInput(option + " needs a file name (got an empty path)");
        }
        if (file.toAbsolutePath().normalize().getFileName() == null || Files.isDirectory(file)) {
            throw UserError.badInput(option + " " + file + " is a folder: give a file name inside it");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw UserError.badInput(option + " " + file + " is not a regular file: give a file name to write");
        }
        Path parent = file.toAbsolutePath().normalize().getParent();
        if (!Files.isDirectory(parent)) {
            throw UserError.badInput((option.isEmpty() ? "" : option + " ") + "cannot write " + file
                    + ": no such directory " + parent + "; create it or choose another folder");
        }
        try {
            AtomicFiles.checkWritable(file);
        } catch (IOException e) {
            throw cannotWrite(option, file, e);
        }
        return file;
    }

    /**
     * An output folder replaced as a whole: not empty, not a file, missing or holding only the files the
     * command writes there ({@code ours}, so a report never deletes what it did not make), in a parent that
     * takes a new entry.
     */
    static Path outputFolder(String option, Path dir, Set<String> ours) {
        if (dir.toString().isEmpty()) {
            throw UserError.badInput(option + " needs a folder name (got an empty path)");
        }
        Path abs = dir.toAbsolutePath().normalize();
        if (abs.getFileName() == null || abs.getParent() == null) {
            throw UserError.badInput(option + " " + dir + " is the root folder: give a folder to create or replace");
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw UserError.badInput(option + " " + dir + " is a file, not a folder: give a folder name");
        }
        try {
            if (!AtomicFiles.onlyHolds(dir, ours)) {
                throw UserError.badInput(option + " " + dir + " holds files this command did not write: give a new"
                        + " or empty folder (it is replaced as a whole)");
            }
            AtomicFiles.checkWritable(abs);
        } catch (IOException e) {
            throw cannotWrite(option, dir, e);
        }
        return dir;
    }

    /** The one-line reason a path cannot be written, exit 2 (the user chose the path). */
    static UserError cannotWrite(String option, Path p, IOException e) {
        return new UserError(ExitCode.BAD_INPUT, (option.isEmpty() ? "" : option + " ") + "cannot write " + p + ": "
                + reason(e) + "; choose a writable folder", e);
    }

    /**
     * The error for an output that failed after the results were printed: they are kept (above), the write is
     * what failed (exit 1). {@code what} names the output, e.g. "report" or "chart".
     */
    static UserError unwritten(String what, Path where, IOException e, String after) {
        return new UserError(ExitCode.FAILURE, "the results are above, but the " + what + " could not be written to "
                + where + ": " + reason(e) + after, e);
    }

    /** Why an I/O call failed, in words: the errno text, never a bare path or a temp file's name. */
    static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException n -> n.getReason() != null ? n.getReason() : "no such file or folder";
            case AccessDeniedException a -> "permission denied";
            case FileSystemException f when f.getReason() != null -> f.getReason();
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }

    /**
     * {@code s} with every control character (C0, DEL, C1) shown as an escape, so text read from a file can
     * neither move the cursor, recolour or retitle the terminal, nor fake a line of output.
     */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (Character.isISOControl(c) || c == 0x2028 || c == 0x2029 || (c >= 0x202A && c <= 0x202E)
                            || (c >= 0x2066 && c <= 0x2069)) {
                        b.append(c <= 0xff ? String.format("\\x%02x", c) : String.format("\\u%04x", c));
                    } else {
                        b.appendCodePoint(c);
                    }
                }
            }
        });
        return b.toString();
    }
}
