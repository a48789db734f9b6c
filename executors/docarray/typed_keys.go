package docarray

// getKey reads key of d as a model value: a LegacyDocument field when the
// key is one and the field is set, else the Extra value. It reports false
// for a missing key (or an empty one, as docarray sends unset Optionals).
func (d *Document) getKey(key string) (any, bool, error) {
	switch key {
	case keyID:
		if d.ID != "" {
			return d.ID, true, nil
		}
	case keyText:
		if d.Text != "" {
			return d.Text, true, nil
		}
	case keyBlob:
		if d.Blob != nil {
			return d.Blob, true, nil
		}
	case keyURL:
		if d.URL != "" {
			return d.URL, true, nil
		}
	case keyTensor:
		if d.Tensor != nil {
			return d.Tensor, true, nil
		}
	case keyEmbedding:
		if d.Embedding != nil {
			return d.Embedding, true, nil
		}
	case keyTags:
		if len(d.Tags) > 0 {
			return d.Tags, true, nil
		}
	case keyChunks:
		if d.Chunks != nil {
			return d.Chunks, true, nil
		}
	case keyMatches:
		if d.Matches != nil {
			return d.Matches, true, nil
		}
	case keyScores:
		if len(d.Scores) > 0 {
			return d.Scores, true, nil
		}
	}
	// Unknown keys, and legacy keys whose value had a shape the field does
	// not take (kept verbatim in Extra by the decoder).
	n, ok := d.Extra[key]
	if !ok || n.GetContent() == nil {
		return nil, false, nil
	}
	v, err := valueFromNode(n, 0)
	if err != nil {
		return nil, false, err
	}
	return v, v != nil, nil
}

// clearKey removes key from d.
func (d *Document) clearKey(key string) {
	delete(d.Extra, key)
	switch key {
	case keyID:
		d.ID = ""
	case keyText:
		d.Text = ""
	case keyBlob:
		d.Blob = nil
	case keyURL:
		d.URL = ""
	case keyTensor:
		d.Tensor = nil
	case keyEmbedding:
		d.Embedding = nil
	case keyTags:
		d.Tags = nil
	case keyChunks:
		d.Chunks = nil
	case keyMatches:
		d.Matches = nil
	case keyScores:
		d.Scores = nil
	}
}

// setKey stores a model value under key: in the LegacyDocument field when
// the key is one and the value has the field's shape, else in Extra (as
// the wire decoder keeps odd-shaped legacy values). nil removes the key.
func (d *Document) setKey(key string, v any) error {
	if v == nil {
		d.clearKey(key)
		return nil
	}
	if isLegacyKey(key) {
		if d.setLegacyValue(key, v) {
			delete(d.Extra, key)
			return nil
		}
		d.clearKey(key)
	}
	return d.SetField(key, v)
}

// setLegacyValue stores v in the legacy field key if v has its shape.
func (d *Document) setLegacyValue(key string, v any) bool {
	switch key {
	case keyID, keyText, keyURL:
		s, ok := v.(string)
		if !ok {
			return false
		}
		switch key {
		case keyID:
			d.ID = s
		case keyText:
			d.Text = s
		default:
			d.URL = s
		}
	case keyBlob:
		b, ok := v.([]byte)
		if !ok {
			return false
		}
		d.Blob = b
	case keyTensor, keyEmbedding:
		a, ok := v.(*NdArray)
		if !ok {
			return false
		}
		if key == keyTensor {
			d.Tensor = a
		} else {
			d.Embedding = a
		}
	case keyTags:
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if len(m) == 0 {
			m = nil
		}
		d.Tags = m
	case keyChunks, keyMatches:
		l, ok := v.(DocList)
		if !ok {
			return false
		}
		if key == keyChunks {
			d.Chunks = l
		} else {
			d.Matches = l
		}
	case keyScores:
		scores, ok := scoresOf(v)
		if !ok {
			return false
		}
		d.Scores = scores
	default:
		return false
	}
	return true
}

// scoresOf converts a dict of scores ({"cosine": {"value": 0.9}} or
// {"cosine": 0.9}) to NamedScores.
func scoresOf(v any) (map[string]NamedScore, bool) {
	switch x := v.(type) {
	case map[string]NamedScore:
		return x, true
	case map[string]any:
		if len(x) == 0 {
			return nil, true
		}
		out := make(map[string]NamedScore, len(x))
		for k, it := range x {
			s, err := toScore(it)
			if err != nil {
				return nil, false
			}
			out[k] = s
		}
		return out, true
	}
	return nil, false
}
