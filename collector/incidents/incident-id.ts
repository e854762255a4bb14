import { createHash } from 'node:crypto';

/**
 * The stable id of an incident: the first 24 hex digits (96 bits) of
 * sha256(workloadKey NUL rule NUL key). The same signature always gets the same id, on
 * every replica and across restarts; NUL cannot occur in any of the three parts.
 */
export function incidentId(workloadKey: string, rule: string, key: string): string {
  return createHash('sha256').update(`${workloadKey}\0${rule}\0${key}`).digest('hex').slice(0, 24);
}
