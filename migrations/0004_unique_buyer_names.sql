-- Two buyer organisations with the same name (ignoring case) would be indistinguishable to coordinators
-- and in quotes; buyerOnboard reports ALREADY_EXISTS, and this index holds the rule under concurrency.
CREATE UNIQUE INDEX organisations_buyer_name_key ON organisations (lower(name)) WHERE kind = 'buyer';
