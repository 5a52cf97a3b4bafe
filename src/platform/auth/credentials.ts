import type { ApolloServerPlugin } from '@apollo/server';
import { DocumentNode, GraphQLError, GraphQLSchema, Kind, OperationDefinitionNode, SelectionSetNode } from 'graphql';
import { ErrorCode } from '../errors';

/** Why credentials that came with a request sign nobody in. */
export type CredentialProblem = 'WRONG_SCHEME' | 'EXPIRED' | 'INVALID' | KeyProblem;

/** Why an API key (told apart by its prefix) signs nobody in. */
export type KeyProblem = 'KEY_EXPIRED' | 'KEY_REVOKED' | 'KEY_INVALID';

/** Said to HTTP clients, and as the close reason of a WebSocket (each well under its 123 bytes). */
export const CREDENTIAL_MESSAGES: Readonly<Record<CredentialProblem, string>> = {
  WRONG_SCHEME: 'The Authorization header must be "Bearer <token>"',
  EXPIRED: 'The token has expired; sign in again',
  INVALID: 'The token is invalid or has been revoked; sign in again',
  KEY_EXPIRED: 'The API key has expired (or was rotated and its overlap has ended); use a current key',
  KEY_REVOKED: 'The API key has been revoked',
  KEY_INVALID: 'The API key is not known; check that it was copied whole',
};

/** UNAUTHENTICATED with HTTP status 401, for a request whose credentials are bad. */
export function credentialError(problem: CredentialProblem): GraphQLError {
  return new GraphQLError(CREDENTIAL_MESSAGES[problem], {
    extensions: { code: ErrorCode.UNAUTHENTICATED, reason: problem, http: { status: 401 } },
  });
}

/**
 * Field extension (type-graphql `@Extensions(SIGNS_IN)`) of a root field that signs someone in. Such a field
 * runs whatever credentials came along: the playground keeps its headers, so a client holding an expired
 * token must still be able to sign in again.
 */
export const SIGNS_IN = { signsIn: true } as const;

/**
 * Apollo plugin: a request with bad credentials is built as anonymous (the context keeps the problem) and
 * answered with the 401 here, once the operation is known, unless it only calls fields that sign in.
 */
export function credentialsPlugin<TContext extends { credentialProblem: CredentialProblem | null }>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, document, schema }) {
          const problem = contextValue.credentialProblem;
          if (problem && !(operation && onlySignsIn(schema, document, operation))) throw credentialError(problem);
        },
      };
    },
  };
}

/** Root fields that need nobody signed in: introspection, so the playground's docs load whatever its Headers tab holds. */
const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/**
 * True when every root field the operation selects signs in or introspects (`__typename` aside), and there is
 * one such field at least (`{ __typename }` alone with a bad token still answers 401).
 */
function onlySignsIn(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): boolean {
  const fields = schema.getRootType(operation.operation)?.getFields();
  if (!fields) return false;
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
  );
  const seen = new Set<string>();
  let signsIn = false;
  const check = (set: SelectionSetNode): boolean =>
    set.selections.every((s) => {
      if (s.kind === Kind.FIELD) {
        if (s.name.value === '__typename') return true;
        signsIn = INTROSPECTION_FIELDS.has(s.name.value) || fields[s.name.value]?.extensions?.signsIn === true;
        return signsIn;
      }
      if (s.kind === Kind.INLINE_FRAGMENT) return check(s.selectionSet);
      const fragment = fragments.get(s.name.value);
      if (!fragment) return false;
      if (seen.has(s.name.value)) return true;
      seen.add(s.name.value);
      return check(fragment);
    });
  return check(operation.selectionSet) && signsIn;
}
