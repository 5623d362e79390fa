package io.github.convsim.condlora;

/**
 * How well the shared map reproduces one layer: R^2 = 1 - ||fit - target||^2 / ||target||^2 (no intercept) for A and
 * B, and ||B^ A^ - B A||_F / ||B A||_F for the update.
 */
public record LayerFit(int layer, double r2A, double r2B, double dwError) {}
