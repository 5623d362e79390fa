package io.github.convsim.model;

/** A tensor of an adapter that is not analysed, and why. */
public record SkippedTensor(String name, String reason) {}
