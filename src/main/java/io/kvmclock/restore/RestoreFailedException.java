package io.kvmclock.restore;

/** A restore that did not reach what it promises; the message says how far it got. */
public class RestoreFailedException extends RuntimeException {
    public RestoreFailedException(String message) {
        super(message);
    }
}
