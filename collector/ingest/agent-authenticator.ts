/** Outcome of checking an agent's credentials; `reason` is a bounded metric label. */
export type AgentAuthResult =
  | {
      readonly ok: true;
      /** Identity for logs, e.g. "static-token" or "system:serviceaccount:tripline:agent". */ readonly identity: string;
    }
  | { readonly ok: false; readonly reason: 'missing' | 'invalid' | 'forbidden' | 'unavailable' };

/**
 * Decides whether a stream's bearer token belongs to an agent: a static token in the
 * embedded default, a Kubernetes service-account token (TokenReview) in a cluster.
 * Implementations never log the token.
 */
export interface AgentAuthenticator {
  /** Never throws; 'unavailable' when the verifier could not be reached. */
  authenticate(bearerToken: string | undefined): Promise<AgentAuthResult>;
}
