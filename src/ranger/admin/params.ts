import { Type } from "typebox";

/**
 * Path `{id}` of Ranger's v2 routes. Ranger ids are Java longs, but Gatehouse numbers policies,
 * services, roles and zones with 32-bit integers: a larger id is refused by the schema (400 naming
 * `path.id`) instead of reaching the database, where it would fail as an out-of-range value.
 */
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

/** Path `{name}` of Ranger's v2 by-name routes. */
export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });
