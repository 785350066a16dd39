package io.peersocket.ledger;

/** Ledger bytes from the wire or the store that do not decode (names the bad part), or data that fails verification. */
public final class MalformedLedgerException extends Exception {
    public MalformedLedgerException(String message) { super(message); }
}
