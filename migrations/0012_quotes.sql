-- Quotes (issue 8, part award-quotes): the shipping-days table that turns a consortium's completion date
-- into the quote's delivery date. docs/shipping.md explains every figure and where it comes from.
--
-- A row is (Incoterms 2020 rule, destination country or '*' for any other country): how many calendar days
-- after the consortium's completion the goods are delivered *in the sense of that rule* — for E and F rules
-- and the C rules the seller's delivery happens in Japan (handed to the buyer or its carrier, or loaded at the
-- port), for the D rules at the named place in the destination country.

CREATE TABLE shipping_days (
    incoterm text NOT NULL CHECK (incoterm IN ('EXW', 'FCA', 'CPT', 'CIP', 'DAP', 'DPU', 'DDP', 'FAS', 'FOB',
                                               'CFR', 'CIF')),
    destination text NOT NULL CHECK (destination = '*' OR destination ~ '^[A-Z]{2}$'),
    days integer NOT NULL CHECK (days BETWEEN 0 AND 120),
    basis text NOT NULL CHECK (length(basis) BETWEEN 1 AND 300),
    PRIMARY KEY (incoterm, destination)
);

-- Delivered in Japan, whatever the destination: packing and domestic haulage only.
INSERT INTO shipping_days (incoterm, destination, days, basis) VALUES
    ('EXW', '*', 1, 'packed and ready for collection at the lead factory the working day after completion'),
    ('FCA', '*', 3, 'packing, export customs clearance and handover to the buyer''s carrier in Japan'),
    ('FAS', '*', 4, 'haulage to the port of Tokyo/Yokohama/Kobe and export clearance, alongside the vessel'),
    ('FOB', '*', 5, 'haulage to the port, export clearance and loading; vessel cut-off one or two days earlier'),
    ('CPT', '*', 3, 'handover to the first carrier in Japan (the seller pays the main carriage)'),
    ('CIP', '*', 3, 'handover to the first carrier in Japan (the seller pays and insures the main carriage)'),
    ('CFR', '*', 5, 'on board the vessel in Japan (the seller pays the sea freight)'),
    ('CIF', '*', 5, 'on board the vessel in Japan (the seller pays and insures the sea freight)');

-- Delivered at destination (D rules): 5 days to board a vessel in Japan (as FOB), the port-to-port sea transit
-- from Tokyo/Yokohama (or Kobe), and the days from the port of discharge to the named place; DDP adds import
-- clearance. Sea freight (FCL/LCL): machined parts are rarely flown at a quote's price.
INSERT INTO shipping_days (incoterm, destination, days, basis)
SELECT rule, destination, days + CASE rule WHEN 'DDP' THEN 3 WHEN 'DPU' THEN 1 ELSE 0 END,
       basis || CASE rule WHEN 'DDP' THEN '; +3 days import clearance and duties'
                          WHEN 'DPU' THEN '; +1 day unloading at the named place' ELSE '' END
FROM (VALUES ('DAP'), ('DPU'), ('DDP')) AS r(rule)
CROSS JOIN (VALUES
    ('KR', 11, '5 to board + 2-3 sea (Busan) + 3 inland'),
    ('CN', 13, '5 to board + 3-4 sea (Shanghai) + 4 inland'),
    ('TW', 13, '5 to board + 4-5 sea (Kaohsiung/Keelung) + 3 inland'),
    ('HK', 13, '5 to board + 5-6 sea + 2 delivery'),
    ('PH', 15, '5 to board + 6-7 sea (Manila) + 3 inland'),
    ('VN', 18, '5 to board + 8-9 sea (Hai Phong/Ho Chi Minh City) + 4 inland'),
    ('TH', 19, '5 to board + 9-10 sea (Laem Chabang) + 4 inland'),
    ('SG', 16, '5 to board + 8-9 sea + 2 delivery'),
    ('MY', 18, '5 to board + 9-10 sea (Port Klang) + 3 inland'),
    ('ID', 20, '5 to board + 10-11 sea (Jakarta) + 4 inland'),
    ('IN', 30, '5 to board + 17-20 sea (Nhava Sheva/Chennai) + 5 inland'),
    ('AU', 26, '5 to board + 15-17 sea (Sydney/Melbourne) + 4 inland'),
    ('NZ', 28, '5 to board + 17-19 sea (Auckland) + 4 inland'),
    ('US', 29, '5 to board + 12-14 sea (Long Beach/Oakland) + 8-10 inland and customs; East Coast places take about 10 days longer'),
    ('CA', 29, '5 to board + 10-12 sea (Vancouver) + 7-12 rail/road inland'),
    ('MX', 30, '5 to board + 17-20 sea (Manzanillo/Lazaro Cardenas) + 5 inland'),
    ('BR', 52, '5 to board + 38-42 sea (Santos) + 5 inland'),
    ('DE', 43, '5 to board + 32-35 sea (Hamburg) + 3 inland'),
    ('NL', 40, '5 to board + 30-33 sea (Rotterdam) + 2 inland'),
    ('BE', 41, '5 to board + 31-34 sea (Antwerp) + 2 inland'),
    ('FR', 43, '5 to board + 30-34 sea (Le Havre) + 4 inland'),
    ('GB', 43, '5 to board + 32-35 sea (Southampton/Felixstowe) + 3 inland'),
    ('IT', 39, '5 to board + 28-30 sea (Genoa/La Spezia) + 4 inland'),
    ('ES', 39, '5 to board + 28-30 sea (Valencia/Barcelona) + 4 inland'),
    ('SE', 47, '5 to board + 35-38 sea (Gothenburg, via Hamburg/Rotterdam) + 4 inland'),
    ('CH', 46, '5 to board + 30-34 sea (Rotterdam/Genoa) + 5-7 rail/road'),
    ('AE', 29, '5 to board + 20-22 sea (Jebel Ali) + 2 delivery'),
    ('*', 55, 'any other destination: the longest route above (Brazil) plus a margin; a coordinator quotes a '
              'special route by hand')
) AS d(destination, days, basis);
