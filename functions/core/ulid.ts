/** A ULID as this service issues them (snapshot, batch, replay and report ids): 26 Crockford base-32 characters. */
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
