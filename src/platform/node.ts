import { Field, ID, InterfaceType } from 'type-graphql';

/**
 * Relay's Node: every object type with an id implements it (`@ObjectType({ implements: Node })`), so
 * `node(id)` / `nodes(ids)` can refetch any of them. Ids stay plain UUIDs; which type an id belongs to is
 * looked up by the node module (src/modules/node), not encoded in the id.
 */
@InterfaceType({ description: 'An object with a globally unique id (a UUID), refetchable with node(id)' })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
