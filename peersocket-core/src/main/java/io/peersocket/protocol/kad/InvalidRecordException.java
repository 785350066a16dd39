package io.peersocket.protocol.kad;

/** A record failed validation: no validator for its namespace, or the namespace's {@link Validator} rejected it. */
public class InvalidRecordException extends KadException {
    public InvalidRecordException(String message) { super(message); }
}
