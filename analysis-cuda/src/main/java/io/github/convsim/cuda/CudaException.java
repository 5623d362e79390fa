package io.github.convsim.cuda;

/** A CUDA library that is missing, or a CUDA call that failed, with the call and its status. */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
