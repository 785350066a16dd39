package io.peersocket.despatch;

/** The remote answered a request with an error (no handler, handler failed, refused). */
public class RemoteException extends RuntimeException {
    public RemoteException(String message) { super(message); }
}
