package io.peersocket.content;

/** A chunk that is needed is not available (not stored locally, or retrieval found no one who has it). */
public class ChunkNotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ChunkAddress address;

    public ChunkNotFoundException(ChunkAddress address) {
        this(address, "chunk " + address + " not found");
    }

    public ChunkNotFoundException(ChunkAddress address, String message) {
        super(message);
        this.address = address;
    }

    /** The missing chunk's address. */
    public ChunkAddress address() {
        return address;
    }
}
