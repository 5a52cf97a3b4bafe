/**
 * The first import of main.ts: starts OpenTelemetry (when OTEL_EXPORTER_OTLP_ENDPOINT is set) before any module
 * it instruments is loaded. It reads the variable itself (and `.env`, as loadConfig does), because config.ts
 * already loads graphql; a malformed URL is left to loadConfig, which names it and stops start-up.
 */
import { existsSync } from 'node:fs';
import dotenv from 'dotenv';
import { startTracing, Tracing } from './platform/tracing';

function endpoint(): string | null {
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined && existsSync('.env')) dotenv.config({ quiet: true });
  const value = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!value) return null;
  try {
    new URL(value);
    return value;
  } catch {
    return null;
  }
}

export const tracing: Tracing | null = startTracing(endpoint());
