import { GraphQLError } from 'graphql';
import { formatError, INTERNAL_MESSAGE } from '../../src/platform/graphql-errors';

/** A resolver error as graphql-js wraps it, its original a driver error with a PostgreSQL SQLSTATE. */
function databaseError(sqlState: string): GraphQLError {
  const original = Object.assign(new Error('insert into "messages" ... - invalid byte sequence'), { code: sqlState });
  return new GraphQLError(original.message, { originalError: original, path: ['sendMessage'] });
}

describe('formatError: what PostgreSQL refused because of a value', () => {
  it.each(['22P02', '22007', '22008', '22021'])('SQLSTATE %s is BAD_USER_INPUT and tells nothing of the SQL', (state) => {
    const error = databaseError(state);
    const { error: formatted, isExpected } = formatError({ message: error.message, path: error.path }, error, 'en');
    expect(isExpected).toBe(true);
    expect(formatted.extensions?.code).toBe('BAD_USER_INPUT');
    expect(formatted.message).not.toMatch(/insert|messages/);
  });

  it('any other database error is masked as INTERNAL_SERVER_ERROR', () => {
    const error = databaseError('XX000');
    const { error: formatted, isExpected } = formatError({ message: error.message, path: error.path }, error, 'en');
    expect(isExpected).toBe(false);
    expect(formatted).toMatchObject({ message: INTERNAL_MESSAGE, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
